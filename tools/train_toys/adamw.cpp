#include "adamw.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace mechlens::toys {

AdamW::AdamW(std::vector<at::Tensor> params, double lr, double weight_decay, double beta1, double beta2, double eps)
    : params_(std::move(params)), lr_(lr), wd_(weight_decay), b1_(beta1), b2_(beta2), eps_(eps) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void AdamW::step() {
  at::NoGradGuard no_grad;
  ++t_;
  const double c1 = 1.0 - std::pow(b1_, t_), c2 = 1.0 - std::pow(b2_, t_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const at::Tensor g = p.grad();
    m_[i].mul_(b1_).add_(g, 1.0 - b1_);
    v_[i].mul_(b2_).addcmul_(g, g, 1.0 - b2_);
    // Decoupled weight decay on matrices only (norm gains and biases stay free).
    if (p.dim() >= 2 && wd_ > 0) p.mul_(1.0 - lr_ * wd_);
    p.addcdiv_(m_[i] / c1, (v_[i] / c2).sqrt_().add_(eps_), -lr_);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

}  // namespace mechlens::toys
