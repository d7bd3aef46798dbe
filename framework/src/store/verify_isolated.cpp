#include "store/verify_isolated.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "mechlens/error.hpp"

namespace mechlens::store {

namespace {

// One line per message: "P <object>" (about to read it), "C <groups> <attributes>
// <datasets> <checksummed>", "E <problem>", "D" (finished).
void send(int fd, std::string line) {
  for (char& c : line)
    if (c == '\n') c = ' ';
  line += '\n';
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n, left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child(const std::string& path, int fd) {
  int status = 0;
  try {
    const VerifyReport report = verify_archive(path, [fd](const std::string& object) { send(fd, "P " + object); });
    send(fd, "C " + std::to_string(report.groups) + " " + std::to_string(report.attributes) + " " +
                 std::to_string(report.datasets) + " " + std::to_string(report.checksummed));
    for (const auto& problem : report.problems) send(fd, "E " + problem);
    send(fd, "D");
  } catch (const std::exception& e) {
    send(fd, "E " + std::string(e.what()));
    status = 2;
  }
  // No exit handlers: the HDF5 library's own clean-up may trip over the damage.
  ::_exit(status);
}

}  // namespace

VerifyReport verify_archive_isolated(const std::string& path, double stall_seconds) {
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  int fds[2];
  if (::pipe(fds) != 0) fail(path, std::string("verify: cannot create a pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) fail(path, std::string("verify: cannot start the reading process: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    child(path, fds[1]);
  }
  ::close(fds[1]);

  VerifyReport report;
  std::string buffer, last_object = "/";
  bool finished = false, stalled = false;
  const int timeout_ms = static_cast<int>(stall_seconds * 1000.0);
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      stalled = true;
      ::kill(pid, SIGKILL);
      break;
    }
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed the pipe: it finished or died
    buffer.append(chunk, static_cast<std::size_t>(n));
    for (std::size_t end; (end = buffer.find('\n')) != std::string::npos; buffer.erase(0, end + 1)) {
      const std::string line = buffer.substr(0, end);
      const std::string rest = line.size() > 2 ? line.substr(2) : "";
      if (line.rfind("P ", 0) == 0) {
        last_object = rest;
      } else if (line.rfind("C ", 0) == 0) {
        std::istringstream in(rest);
        in >> report.groups >> report.attributes >> report.datasets >> report.checksummed;
      } else if (line.rfind("E ", 0) == 0) {
        report.problems.push_back(rest);
      } else if (line == "D") {
        finished = true;
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string at = path + ": " + last_object + ": ";
  if (stalled) {
    std::ostringstream seconds;
    seconds << stall_seconds;
    report.problems.push_back(at + "unreadable, damaged metadata: reading it made no progress for " + seconds.str() +
                              " s (the HDF5 library loops on it), stopped; objects after it were not read");
  } else if (WIFSIGNALED(status)) {
    report.problems.push_back(at + "unreadable, damaged metadata: the HDF5 library crashed reading it (signal " +
                              std::to_string(WTERMSIG(status)) + ", " + ::strsignal(WTERMSIG(status)) +
                              "); objects after it were not read");
  } else if (!finished && report.problems.empty()) {
    report.problems.push_back(at + "the reading process ended early (exit status " +
                              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  return report;
}

}  // namespace mechlens::store
