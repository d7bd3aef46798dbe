#include "op_profile.hpp"

#include <ATen/record_function.h>

#include <atomic>
#include <chrono>
#include <vector>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Frame : at::ObserverContext {
  Clock::time_point start;
  double children = 0.0;
  bool in_attention = false;  // inside layers' per-head attention products
};

// The per-head q k^T and pattern v products (layers/head_products.cpp): their
// time counts as attention, and the addmm/mm calls inside (BLAS through ATen,
// where the float kernel does not run) count as theirs, not as linear layers.
const char* const kHeadProducts = "mechlens::head_products";
bool is_head_product(const std::string& name) { return name == "mechlens::head_scores" || name == "mechlens::head_mix"; }

// Time by op: this thread's ops only (work the op hands to other threads is
// inside its own time). FLOPs: every thread's (attention's many small
// products run on every thread, layers::head_scores and head_mix).
thread_local std::vector<Frame*> stack;
thread_local OpProfile* sink = nullptr;
std::atomic<bool> counting{false};
std::atomic<std::int64_t> flops{0};
// Head products running now: the addmm/mm calls of their ATen path run on
// every thread, and their FLOPs are already the product's.
std::atomic<int> products_open{0};

double gemm_flops_of(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  const auto operands = fn.inputs();
  if (is_head_product(name) && operands.size() == 2 && operands[0].isTensor() && operands[1].isTensor()) {
    // scores: q [B, Tq, H, dh] · k [B, Tk, KV, dh]; mix: pattern [B, H, Tq, Tk] · v [B, Tk, KV, dh].
    const at::Tensor& x = operands[0].toTensor();
    const at::Tensor& y = operands[1].toTensor();
    const double inner_or_keys = static_cast<double>(name == "mechlens::head_scores" ? y.size(1) : y.size(3));
    return 2.0 * static_cast<double>(x.numel()) * inner_or_keys;
  }
  int a = -1;
  if (name == "aten::mm" || name == "aten::bmm") a = 0;
  else if (name == "aten::addmm" || name == "aten::baddbmm") a = 1;
  if (a < 0) return 0.0;
  const auto inputs = fn.inputs();
  if (static_cast<int>(inputs.size()) < a + 2 || !inputs[a].isTensor() || !inputs[a + 1].isTensor()) return 0.0;
  const at::Tensor& x = inputs[a].toTensor();
  const at::Tensor& y = inputs[a + 1].toTensor();
  return 2.0 * static_cast<double>(x.numel()) * static_cast<double>(y.size(-1));
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto frame = std::make_unique<Frame>();
  const bool inside_product = products_open.load() > 0;
  if (counting.load(std::memory_order_relaxed) && !inside_product) flops += static_cast<std::int64_t>(gemm_flops_of(fn));
  if (is_head_product(fn.name())) ++products_open;
  frame->in_attention = is_head_product(fn.name()) || inside_product;
  stack.push_back(frame.get());
  frame->start = Clock::now();
  return frame;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  auto* frame = static_cast<Frame*>(context);
  if (is_head_product(fn.name())) --products_open;
  const double total = std::chrono::duration<double>(Clock::now() - frame->start).count();
  if (!stack.empty() && stack.back() == frame) stack.pop_back();
  if (!stack.empty()) stack.back()->children += total;
  if (!sink) return;
  const bool nested_product = frame->in_attention && !is_head_product(fn.name());
  OpStats& s = sink->ops[frame->in_attention ? kHeadProducts : fn.name()];
  s.self_seconds += total - frame->children;
  if (!nested_product) ++s.calls;
}

}  // namespace

OpRecorder::OpRecorder() {
  sink = new OpProfile();
  flops = 0;
  counting = true;
  handle_ = at::addGlobalCallback(
      at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
}

OpRecorder::~OpRecorder() {
  at::removeCallback(handle_);
  counting = false;
  delete sink;
  sink = nullptr;
  stack.clear();
}

OpProfile OpRecorder::result() const {
  OpProfile p = *sink;
  p.gemm_flops = static_cast<double>(flops.load());
  return p;
}

std::string category_of(const std::string& op) {
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (op == n) return true;
    return false;
  };
  if (is({"aten::addmm", "aten::mm"})) return "linear GEMMs (q/k/v/o, FFN, heads)";
  if (is({kHeadProducts, "aten::bmm", "aten::baddbmm", "aten::_softmax", "aten::masked_fill", "aten::masked_fill_",
          "aten::logical_not"}))
    return "attention (QK^T, softmax, mask, PV)";
  if (is({"aten::native_layer_norm", "aten::pow", "aten::mean", "aten::rsqrt"})) return "norms";
  if (is({"aten::gelu", "aten::silu"})) return "GELU / SiLU";
  if (is({"aten::copy_", "aten::clone", "aten::contiguous", "aten::cat", "aten::empty", "aten::empty_like",
          "aten::empty_strided", "aten::zeros", "aten::index", "aten::gather", "aten::expand", "aten::to",
          "aten::_to_copy", "aten::reshape", "aten::view", "aten::transpose", "aten::select", "aten::narrow",
          "aten::slice", "aten::unsqueeze", "aten::as_strided", "aten::_reshape_alias", "aten::t",
          "aten::resize_", "aten::zero_", "aten::fill_", "aten::detach", "aten::alias"}))
    return "copies, views, allocation";
  if (is({"aten::add", "aten::add_", "aten::mul", "aten::mul_", "aten::sub", "aten::neg", "aten::div"}))
    return "element-wise add/mul (residuals, rotary, scale)";
  if (is({"aten::softmax", "aten::log_softmax", "aten::_log_softmax", "aten::exp", "aten::sum", "aten::argmax",
          "aten::item", "aten::_local_scalar_dense"}))
    return "metrics (softmax over the vocabulary, reductions)";
  return "other";
}

}  // namespace bench
