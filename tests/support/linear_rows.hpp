#pragma once
// Records the input shape of each at::linear that runs while it is alive:
// how tests see that a narrowed path really skipped the work (rows(): the
// position axis, size(-2)) or at which batch a projection ran.
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
  std::vector<std::vector<std::int64_t>> shapes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return shapes_;
  }
  std::vector<std::int64_t> rows() const {
    std::vector<std::int64_t> out;
    for (const auto& shape : shapes()) out.push_back(shape.size() >= 2 ? shape[shape.size() - 2] : 1);
    return out;
  }

 private:
  static std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
    if (!active_ || std::string(fn.name()) != "aten::linear") return nullptr;
    const auto inputs = fn.inputs();
    if (inputs.empty() || !inputs[0].isTensor()) return nullptr;
    const at::Tensor& x = inputs[0].toTensor();
    std::lock_guard<std::mutex> lock(active_->mutex_);
    active_->shapes_.push_back(x.sizes().vec());
    return nullptr;
  }
  static inline LinearRows* active_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::vector<std::int64_t>> shapes_;
  at::CallbackHandle handle_ = 0;
};

}  // namespace mechlens::testing
