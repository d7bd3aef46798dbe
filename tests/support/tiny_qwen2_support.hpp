#pragma once
// Tiny Qwen2 decoders for the models suite: a checkpoint written into a
// scratch directory and its decoder loaded without a tokenizer (the decoder
// tests feed ids directly), plus a runner for the Python reference.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "tiny_bert_support.hpp"  // Scratch, max_abs_diff
#include "tiny_qwen2.hpp"

namespace mechlens::testing {

struct LoadedDecoder {
  std::shared_ptr<checkpoint::Checkpoint> ckpt;  // owns the mappings the weights alias
  models::qwen2::Qwen2Decoder decoder;
};

inline LoadedDecoder load_qwen2_decoder(const std::string& dir, at::ScalarType dtype = at::kFloat) {
  LoadedDecoder d;
  d.ckpt = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(dir));
  d.decoder = models::qwen2::Qwen2Decoder::load(*d.ckpt, d.ckpt->config(), at::TensorOptions().dtype(dtype),
                                                {"model.", {"lm_head.weight"}});
  return d;
}

inline bool python_with_torch() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") == 0;
  return ok;
}

// Runs tests/models/reference/<script> on ids/mask; returns {name → float64 tensor}.
inline std::map<std::string, at::Tensor> run_reference(const std::string& script, const std::string& dir,
                                                       nlohmann::json request, const Scratch& scratch) {
  const std::string in = scratch.path("request.json"), out = scratch.path("reference.json");
  std::ofstream(in) << request.dump();
  const std::string command = "/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/models/reference/" + script + " '" + dir +
                              "' '" + in + "' '" + out + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream file(out);
  const auto json = nlohmann::json::parse(file);
  std::map<std::string, at::Tensor> result;
  for (const auto& [name, value] : json.items()) {
    const auto data = value.at("data").get<std::vector<double>>();
    const auto shape = value.at("shape").get<std::vector<std::int64_t>>();
    result[name] = at::tensor(data, at::kDouble).view(shape);
  }
  return result;
}

inline nlohmann::json ids_request(const at::Tensor& ids, const at::Tensor& mask) {
  nlohmann::json request;
  const at::Tensor i = ids.to(at::kLong).contiguous(), m = mask.to(at::kLong).contiguous();
  for (std::int64_t b = 0; b < i.size(0); ++b) {
    request["ids"].push_back(std::vector<std::int64_t>(i[b].data_ptr<std::int64_t>(), i[b].data_ptr<std::int64_t>() + i.size(1)));
    request["mask"].push_back(std::vector<std::int64_t>(m[b].data_ptr<std::int64_t>(), m[b].data_ptr<std::int64_t>() + m.size(1)));
  }
  return request;
}

}  // namespace mechlens::testing
