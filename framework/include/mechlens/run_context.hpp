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
};

}  // namespace mechlens
