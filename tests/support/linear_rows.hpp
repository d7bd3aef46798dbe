#pragma once
// Counts the rows each at::linear runs over while it is alive (the
// position axis, size(-2), of its input): how tests see that a narrowed
// path really skipped the work.
#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mechlens::testing {

class LinearRows {
 public:
  LinearRows() {
    active_ = this;
    handle_ = at::addGlobalCallback(
        at::RecordFunctionCallback(&LinearRows::on_start).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  }
  ~LinearRows() {
    at::removeCallback(handle_);
    active_ = nullptr;
  }
  std::vector<std::int64_t> rows() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return rows_;
  }

 private:
  static std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
    if (!active_ || std::string(fn.name()) != "aten::linear") return nullptr;
    const auto inputs = fn.inputs();
    if (inputs.empty() || !inputs[0].isTensor()) return nullptr;
    const at::Tensor& x = inputs[0].toTensor();
    std::lock_guard<std::mutex> lock(active_->mutex_);
    active_->rows_.push_back(x.dim() >= 2 ? x.size(-2) : 1);
    return nullptr;
  }
  static inline LinearRows* active_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::int64_t> rows_;
  at::CallbackHandle handle_ = 0;
};

}  // namespace mechlens::testing
