#pragma once
// Temp folders, recipe files and "this call fails with a message naming X"
// for the recipe tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "mechlens/error.hpp"

namespace recipe_test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("mechlens-recipe-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

  // Writes `text` to dir/name (creating folders) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

// 1-based line of the first line of `text` that contains `marker`.
inline int line_of(const std::string& text, const std::string& marker) {
  const std::size_t at = text.find(marker);
  EXPECT_NE(at, std::string::npos) << marker;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

// The message of the mechlens::Error `f` throws; a test failure if it throws nothing.
// RECIPE_TEST_PRINT=1 prints each message, to review their wording.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mechlens::Error& e) {
    if (std::getenv("RECIPE_TEST_PRINT")) std::fprintf(stderr, "  message: %s\n", e.what());
    return e.what();
  }
  ADD_FAILURE() << "expected a mechlens::Error";
  return "";
}

// Asserts that `message` contains every one of `parts`.
inline void expect_names(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

// A valid recipe around the given model / inputs / analysis bodies.
inline std::string recipe_text(const std::string& model_extra = "", const std::string& inputs = "",
                               const std::string& analysis_extra = "") {
  return "[experiment]\n"
         "name = \"demo\"\n"
         "\n"
         "[model]\n"
         "adapter = \"bert\"\n"
         "path = \"models/tiny-bert\"\n" +
         model_extra +
         "\n"
         "[[inputs]]\n"
         "text = \"the capital of france is [MASK] .\"\n" +
         inputs +
         "\n"
         "[[analysis]]\n"
         "plugin = \"sensitivity_matrix\"\n" +
         analysis_extra;
}

}  // namespace recipe_test
