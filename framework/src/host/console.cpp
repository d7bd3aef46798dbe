#include "host/console.hpp"

#include <unistd.h>

#include <iostream>

namespace mechlens::host {

void StderrLogger::info(const std::string& message) {
  if (verbose_) std::cerr << "mechlens: " << message << "\n";
}

void StderrLogger::notice(const std::string& message) { std::cerr << "mechlens: " << message << "\n"; }

void StderrLogger::warn(const std::string& message) { std::cerr << "mechlens: warning: " << message << "\n"; }

StderrProgress::StderrProgress(bool verbose) : verbose_(verbose), tty_(::isatty(STDERR_FILENO) != 0) {}

StderrProgress::~StderrProgress() { end_line(); }

void StderrProgress::end_line() {
  if (open_line_) std::cerr << "\n";
  open_line_ = false;
}

void StderrProgress::update(const std::string& stage, std::int64_t done, std::int64_t total) {
  const std::string line = "  " + prefix_ + (prefix_.empty() ? "" : " ") + stage + ": " + std::to_string(done) + "/" +
                           std::to_string(total);
  if (tty_) {
    // Redraw at most ~10 times a second; a sweep may report thousands of units.
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::cerr << "\r\033[K" << line << std::flush;
    open_line_ = true;
  } else if (verbose_) {
    std::cerr << line << "\n";  // a log file gets every line, but only when asked for
  }
}

}  // namespace mechlens::host
