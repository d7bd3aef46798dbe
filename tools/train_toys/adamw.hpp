#pragma once
// AdamW (Loshchilov & Hutter) over a list of tensors with requires_grad:
// enough optimiser for the toy models, without pulling in torch::optim.
#include <ATen/core/Tensor.h>

#include <vector>

namespace mechlens::toys {

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, double lr, double weight_decay = 0.01, double beta1 = 0.9,
        double beta2 = 0.98, double eps = 1e-8);
  void step();
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }

 private:
  std::vector<at::Tensor> params_, m_, v_;
  double lr_, wd_, b1_, b2_, eps_;
  long t_ = 0;
};

}  // namespace mechlens::toys
