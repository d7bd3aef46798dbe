#pragma once
// Shared by the bpe_*_test.cpp files: the Qwen2 / LLaVA-OneVision
// tokenizer.json is committed gzip-compressed (the plain file is ~5 MB) and
// unpacked once per test run with `gzip -dc` into the build directory.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "tokenize/bpe.hpp"

namespace mechlens::tokenize::test {

inline std::string fixture(const std::string& name) { return std::string(MECHLENS_TEST_DATA) + "/tokenize/fixtures/" + name; }

inline std::string qwen2_tokenizer_path() {
  static const std::string path = [] {
    const std::filesystem::path dir = std::filesystem::path(MECHLENS_BINARY_DIR) / "test_tmp" / "bpe";
    std::filesystem::create_directories(dir);
    // ctest runs each test in its own process, possibly in parallel: unpack
    // to a private name, then rename over the shared one (atomic).
    const std::string out = (dir / "qwen2_tokenizer.json").string();
    const std::string mine = out + "." + std::to_string(::getpid());
    const std::string command = "gzip -dc '" + fixture("qwen2_tokenizer.json.gz") + "' > '" + mine + "'";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    std::filesystem::rename(mine, out);
    return out;
  }();
  return path;
}

inline const BytePairEncoding& qwen2() {
  static const BytePairEncoding tokenizer = BytePairEncoding::from_tokenizer_json(qwen2_tokenizer_path());
  return tokenizer;
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace mechlens::tokenize::test
