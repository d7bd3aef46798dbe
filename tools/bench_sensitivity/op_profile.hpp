#pragma once
// Where the time of a block of libtorch work goes, by ATen operator, and the
// GEMM FLOPs it really executes: RecordFunction callbacks
// (the profiler's own mechanism, without its per-event storage): time by op
// on the calling thread, GEMM FLOPs on every thread.
#include <cstdint>
#include <map>
#include <string>

namespace bench {

struct OpStats {
  double self_seconds = 0.0;  // time in the op, minus the ops it called
  std::int64_t calls = 0;
};

struct OpProfile {
  std::map<std::string, OpStats> ops;  // "aten::addmm" → stats
  double gemm_flops = 0.0;             // mm/addmm/bmm/baddbmm, multiply-add = 2
};

// Records every ATen op run on this thread while alive (nesting allowed: the
// callbacks keep one stack per thread).
class OpRecorder {
 public:
  OpRecorder();
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;
  OpProfile result() const;

 private:
  std::uint64_t handle_;
};

// The categories for an op name: "linear GEMMs", "attention", "norms", ...
std::string category_of(const std::string& op);

}  // namespace bench
