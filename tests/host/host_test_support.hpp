#pragma once
// Shared by the host suites: where the test plugins are, a scratch folder per
// test, a ResultGroup kept in memory, and recipes on a tiny BERT.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "mechlens/store.hpp"
#include "tiny_bert.hpp"

namespace mechlens::testing {

inline std::string test_plugin_dir() { return MECHLENS_TEST_PLUGIN_DIR; }
inline std::string test_plugin(const std::string& name) {
  return test_plugin_dir() + "/mechlens_plugin_" + name + ".so";
}

class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() / (std::string("mechlens-host-") + info->test_suite_name() + "-" +
                                                      info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) ::setenv(name_, old_.c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// A ResultGroup that keeps what a plugin wrote, for tests that run a plugin
// without an archive.
class MemoryGroup : public ResultGroup {
 public:
  std::map<std::string, std::vector<double>> arrays;
  std::map<std::string, std::vector<std::string>> dims;
  std::map<std::string, AttrValue> attrs;

  std::string path() const override { return "/memory"; }
  void write(const std::string& name, const ArrayRef& array, const std::vector<std::string>& d) override {
    std::int64_t n = 1;
    for (auto s : array.shape) n *= s;
    std::vector<double> values(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      switch (array.type) {
        case ElementType::f32: values[i] = static_cast<const float*>(array.data)[i]; break;
        case ElementType::f64: values[i] = static_cast<const double*>(array.data)[i]; break;
        case ElementType::i64: values[i] = static_cast<double>(static_cast<const std::int64_t*>(array.data)[i]); break;
        case ElementType::i32: values[i] = static_cast<const std::int32_t*>(array.data)[i]; break;
        case ElementType::u8: values[i] = static_cast<const std::uint8_t*>(array.data)[i]; break;
      }
    }
    arrays[name] = values;
    dims[name] = d;
  }
  void write_strings(const std::string& name, const std::vector<std::string>&, const std::string& d) override {
    dims[name] = {d};
  }
  void write_strings(const std::string& name, const std::vector<std::string>&, const std::vector<std::int64_t>&,
                     const std::vector<std::string>& d) override {
    dims[name] = d;
  }
  void set_attr(const std::string& name, const AttrValue& value) override { attrs[name] = value; }
  bool has(const std::string& name) const override { return arrays.count(name) || attrs.count(name); }
  std::unique_ptr<ResultGroup> group(const std::string&) override { return std::make_unique<MemoryGroup>(); }
  bool unit_done(const std::string& unit) const override { return done_.count(unit) != 0; }
  void mark_unit_done(const std::string& unit) override { done_[unit] = true; }
  std::vector<double> read_f64(const std::string& name) const override { return arrays.at(name); }

 private:
  std::map<std::string, bool> done_;
};

// A tiny BERT checkpoint and a recipe running `good` on two inputs.
inline std::string write_good_recipe(const ScratchDir& dir, const std::string& analysis_extra = "") {
  mechlens::tiny::TinyBertOptions options;
  options.layers = 2;
  options.heads = 2;
  options.seed = 3;
  mechlens::tiny::write_tiny_bert(dir / "tiny-bert", options);
  const std::string recipe = dir / "recipe.toml";
  write_file(recipe, R"([experiment]
name = "host-test"

[model]
adapter = "bert"
path = "tiny-bert"
threads = 1

[[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."

[[inputs]]
id = "second"
text = "a dog runs"
answer_position = -1

[[analysis]]
plugin = "good"
label = "lbl"
scale = 0.5
)" + analysis_extra);
  return recipe;
}

}  // namespace mechlens::testing
