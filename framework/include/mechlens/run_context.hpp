#pragma once
// Everything a plugin receives. A plugin never opens files itself.
#include <functional>
#include <string>
#include <vector>

#include "mechlens/figures.hpp"
#include "mechlens/model.hpp"
#include "mechlens/params.hpp"
#include "mechlens/store.hpp"

namespace mechlens {

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void info(const std::string& message) = 0;
  virtual void warn(const std::string& message) = 0;
};

class Progress {
 public:
  virtual ~Progress() = default;
  // `done` of `total` units of the named stage.
  virtual void update(const std::string& stage, std::int64_t done, std::int64_t total) = 0;
};

struct RunContext {
  const Model& model;
  const std::vector<EncodedInput>& inputs;
  ResultGroup& results;  // this analysis' group in this run
  const ParamValues& params;
  Progress& progress;
  Logger& log;
  // Summary lines a person should see at the end of the run
  // ("largest sensitivity: layer 1 head 2").
  std::vector<std::string>& findings;
  Figures& figures;
  // When this run is one shard of a recipe (`mechlens run --shard I/N`,
  // merge.hpp): every input of the recipe, of which `inputs` is a contiguous
  // block; null otherwise (then `inputs` are all of them). For what a plugin
  // computes over all inputs before it analyses its own (a reference mean),
  // so that every shard uses the same. Since plugin ABI 4.
  const std::vector<EncodedInput>* recipe_inputs = nullptr;
};

}  // namespace mechlens
