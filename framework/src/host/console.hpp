#pragma once
// Logger and Progress for a terminal: everything goes to stderr, so stdout
// holds only the results (findings, the archive path) a script may read.
#include <chrono>
#include <string>

#include "mechlens/run_context.hpp"

namespace mechlens::host {

class StderrLogger : public Logger {
 public:
  explicit StderrLogger(bool verbose) : verbose_(verbose) {}
  void info(const std::string& message) override;  // only when verbose
  void warn(const std::string& message) override;  // always
  void notice(const std::string& message);          // always: the few lines a run prints by default
  bool verbose() const { return verbose_; }

 private:
  bool verbose_;
};

// "  <stage>: done/total" lines; on a terminal one line redrawn in place.
class StderrProgress : public Progress {
 public:
  explicit StderrProgress(bool verbose);
  ~StderrProgress() override;
  void update(const std::string& stage, std::int64_t done, std::int64_t total) override;
  void set_prefix(std::string prefix) { end_line(); prefix_ = std::move(prefix); }
  void end_line();

 private:
  bool verbose_;
  bool tty_;
  bool open_line_ = false;
  std::string prefix_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace mechlens::host
