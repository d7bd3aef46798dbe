// bench_decoder: tokens/s of one forward pass (prefill, logits at the last
// position) of the Qwen2 decoder, on a tiny or a Qwen2-0.5B-shaped random
// checkpoint (24 layers, d 896, 14 heads / 2 KV, FFN 4864, vocab 151,936),
// with the peak resident memory (VmHWM).
//   bench_decoder DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--tokens N]
//                 [--repeat N] [--threads N]
// DIR is written when it has no config.json (the checkpoint is stored in the
// dtype asked for, so loading it is zero-copy). --shape llava-tiny times the
// whole LLaVA-OneVision forward (tower, packing, decoder) on a tiny
// checkpoint with one 480 x 640 image (random pixels) in the prompt.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "checkpoint/checkpoint.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_qwen2.hpp"

namespace {

std::string peak_rss() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  return "?";
}

int bench_llava(const std::string& dir, const std::string& dtype, int repeat) {
  if (!std::filesystem::exists(std::filesystem::path(dir) / "config.json")) {
    mechlens::tiny::TinyLlavaOptions o;
    o.dtype = o.text.dtype = dtype;
    mechlens::tiny::write_tiny_llava_onevision(dir, o);
  }
  mechlens::models::LoadOptions options;
  options.path = dir;
  options.dtype = dtype;
  const auto model = mechlens::models::llava_onevision::LlavaOnevisionModel::load(options);
  const auto layout = model->pack_layout_for(480, 640);
  mechlens::EncodedInput in;
  in.spec.id = "bench";
  in.ids = {1, 2, 3};
  in.ids.insert(in.ids.end(), layout.tokens(), model->config().image_token_id);
  for (int i = 0; i < 20; ++i) in.ids.push_back(10 + i);
  const int S = model->config().vision.image_size;
  in.extras["pixel_values"] = at::rand({1 + layout.tiles(), 3, S, S}) * 2 - 1;
  in.extras["image_size"] = at::tensor(std::vector<std::int64_t>{480, 640}, at::kLong);
  const auto batch = model->make_batch({&in});
  const at::Tensor last = at::tensor(std::vector<std::int64_t>{static_cast<std::int64_t>(in.ids.size()) - 1}, at::kLong);
  at::NoGradGuard no_grad;
  double best = 1e30;
  for (int r = 0; r < repeat + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor logits = model->forward(batch, nullptr, last);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, s);
  }
  std::cout << "tiny LLaVA-OneVision, " << dtype << ": " << in.ids.size() << " tokens (" << layout.tokens()
            << " image tokens from " << 1 + layout.tiles() << " crops): best of " << repeat << " forwards " << best * 1e3
            << " ms = " << in.ids.size() / best << " tokens/s; peak RSS" << peak_rss() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_decoder DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--tokens N] [--repeat N] [--threads N]\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    std::string shape = "tiny", dtype = "float32";
    int tokens = 128, repeat = 3, threads = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--shape") shape = value;
      else if (flag == "--dtype") dtype = value;
      else if (flag == "--tokens") tokens = std::stoi(value);
      else if (flag == "--repeat") repeat = std::stoi(value);
      else if (flag == "--threads") threads = std::stoi(value);
      else throw std::runtime_error("unknown option " + flag);
    }
    at::set_num_threads(threads);
    if (shape == "llava-tiny") return bench_llava(dir, dtype, repeat);
    if (!std::filesystem::exists(std::filesystem::path(dir) / "config.json")) {
      mechlens::tiny::TinyQwen2Options o =
          shape == "0.5b" ? mechlens::tiny::TinyQwen2Options::qwen2_0_5b_shaped() : mechlens::tiny::TinyQwen2Options();
      o.dtype = dtype;
      mechlens::tiny::write_tiny_qwen2(dir, o);
    }
    const at::ScalarType type = dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
    const auto ckpt = mechlens::checkpoint::Checkpoint::open(dir);
    const auto decoder = mechlens::models::qwen2::Qwen2Decoder::load(ckpt, ckpt.config(), at::TensorOptions().dtype(type),
                                                                     {"model.", {"lm_head.weight"}});
    const auto& c = decoder.config();
    std::cout << "checkpoint " << dir << ": " << c.num_layers << " layers, d " << c.hidden_size << ", " << c.num_heads
              << " heads / " << c.num_kv_heads << " KV, FFN " << c.intermediate_size << ", vocab " << c.vocab_size
              << ", weights " << dtype << ", " << at::get_num_threads() << " threads\n";
    at::manual_seed(0);
    const at::Tensor ids = at::randint(0, std::min(c.vocab_size, 400), {1, tokens}, at::kLong);
    const at::Tensor mask = at::ones({1, tokens}, at::kBool);
    at::NoGradGuard no_grad;
    double best = 1e30;
    for (int r = 0; r < repeat + 1; ++r) {  // the first run warms up
      const auto t0 = std::chrono::steady_clock::now();
      at::Tensor x = decoder.run_blocks(decoder.embed_tokens(ids), mask, 0, c.num_layers, nullptr);
      const at::Tensor logits = decoder.unembed(x.narrow(1, tokens - 1, 1), nullptr);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!at::isfinite(logits.to(at::kFloat)).all().item<bool>()) throw std::runtime_error("non-finite logits");
      if (r > 0) best = std::min(best, s);
    }
    std::cout << tokens << " tokens: best of " << repeat << " forwards " << best * 1e3 << " ms = " << tokens / best
              << " tokens/s; peak RSS" << peak_rss() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_decoder: " << e.what() << "\n";
    return 1;
  }
}
