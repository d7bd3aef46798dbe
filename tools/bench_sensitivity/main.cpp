// Benchmark (run by hand, not a test): the sensitivity-matrix sweep on a
// BERT-base-shaped random checkpoint (12 layers x 12 heads, d_model 768,
// 128 tokens), batched with prefix reuse versus the naive loop (one full
// forward per head), and both against a plain matmul measured in the same run;
// then the approximate matrix by attribution patching (one forward, one
// backward) against the exact sweep: seconds and rank agreement.
//
//   build/bin/bench_sensitivity [--tokens 128] [--threads N] [--dtype float32|bfloat16] [--dir DIR]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"
#include "tiny_bert.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The FLOPs the sweep really needs (multiply-add = 2): for each ablated layer
// L, layer L's o-proj + FFN and every later layer at batch n_heads, and the
// MLM head at the one answer position per row; plus the clean forward.
struct Shape {
  double layers, heads, d, ff, vocab, t;
  double attention_part() const { return 2 * t * 3 * d * d + 2 * 2 * t * t * d; }  // qkv, QK^T, PV
  double rest_part() const { return 2 * t * d * d + 2 * 2 * t * d * ff; }           // o-proj, FFN
  double layer() const { return attention_part() + rest_part(); }
  double head_at_one_position() const { return 2 * d * d + 2 * d * vocab; }
  double clean_forward() const { return layers * layer() + head_at_one_position(); }
  double sweep() const {
    double total = clean_forward();
    for (double l = 0; l < layers; ++l) total += heads * (rest_part() + (layers - 1 - l) * layer() + head_at_one_position());
    return total;
  }
  double naive() const { return layers * heads * clean_forward(); }
};

double matmul_gflops(at::ScalarType dtype, int n) {
  const at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  at::matmul(a, b);  // warm-up
  const int reps = 5;
  const auto start = Clock::now();
  for (int i = 0; i < reps; ++i) at::matmul(a, b);
  return reps * 2.0 * n * n * n / seconds_since(start) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int tokens = 128;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::string dtype = "float32";
  std::string dir = (std::filesystem::temp_directory_path() / "mechlens-bench-bert-base").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--tokens") tokens = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--dtype") dtype = value;
    else if (flag == "--dir") dir = value;
    else { std::cerr << "unknown flag " << flag << "\n"; return 2; }
  }
  at::set_num_threads(threads);
  at::NoGradGuard no_grad;

  if (!std::filesystem::exists(dir + "/config.json")) {
    std::cerr << "writing a BERT-base-shaped random checkpoint to " << dir << "\n";
    mechlens::tiny::write_tiny_bert(dir, mechlens::tiny::TinyBertOptions::bert_base_shaped());
  }
  auto model = mechlens::models::load("bert", {dir, dtype, "cpu"});
  const mechlens::Geometry g = model->geometry();

  // A 128-token input: random vocabulary ids with a [MASK] in the middle.
  mechlens::EncodedInput input;
  at::Tensor ids = at::randint(1000, g.vocab_size, {tokens}, at::kLong);
  ids[0] = 101, ids[tokens - 1] = 102, ids[tokens / 2] = 103;
  input.ids.assign(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + tokens);
  input.answer_position = tokens / 2;
  const mechlens::Batch single = model->make_batch({&input});
  const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
  const auto kind = mechlens::HeadAblation::zero;

  mechlens::capture_resid_pre(*model, single, answer);  // warm-up
  auto start = Clock::now();
  const mechlens::CleanRun clean = mechlens::capture_resid_pre(*model, single, answer);
  at::Tensor batched = at::empty({g.n_layers, g.n_heads, g.vocab_size});
  for (int l = 0; l < g.n_layers; ++l)
    batched[l] = mechlens::ablate_each_head(*model, single, clean.resid_pre[l], l, kind, answer).select(1, 0).to(at::kFloat);
  const double t_batched = seconds_since(start);

  start = Clock::now();
  at::Tensor naive = at::empty({g.n_layers, g.n_heads, g.vocab_size});
  for (int l = 0; l < g.n_layers; ++l)
    for (int h = 0; h < g.n_heads; ++h) {
      mechlens::HookSet hooks;
      mechlens::add_head_ablations(hooks, g, {mechlens::LayerHead{l, h}}, kind);
      naive[l][h] = model->forward(single, &hooks, answer)[0][0].to(at::kFloat);
    }
  const double t_naive = seconds_since(start);

  const Shape s{double(g.n_layers), double(g.n_heads), double(g.d_model), 4.0 * g.d_model, double(g.vocab_size), double(tokens)};
  const auto st = dtype == "bfloat16" ? at::kBFloat16 : dtype == "float64" ? at::kDouble : at::kFloat;
  const double plain = matmul_gflops(st, 2048);
  const double sweep_gflops = s.sweep() / t_batched / 1e9;
  const double max_diff = (batched - naive).abs().max().item<double>();

  std::printf("BERT-base-shaped sweep: %d layers x %d heads, d_model %d, %d tokens, %s, %d threads\n",
              g.n_layers, g.n_heads, g.d_model, tokens, dtype.c_str(), threads);
  std::printf("  naive loop (one full forward per head): %8.2f s  (%.1f GFLOP/s on its %.1f GFLOP)\n",
              t_naive, s.naive() / t_naive / 1e9, s.naive() / 1e9);
  std::printf("  batched + prefix reuse:                 %8.2f s  (%.1f GFLOP/s on the %.1f GFLOP the sweep needs)\n",
              t_batched, sweep_gflops, s.sweep() / 1e9);
  std::printf("  speed-up: %.2fx   plain 2048^3 matmul: %.1f GFLOP/s   sweep / matmul: %.0f%%\n",
              t_naive / t_batched, plain, 100.0 * sweep_gflops / plain);
  std::printf("  max |batched - naive| logit: %.3g\n", max_diff);

  // Attribution patching of the same matrix (top1_prob_change, zero ablation).
  const at::Tensor clean_logits = clean.logits[0][0].to(at::kDouble);
  const std::int64_t top = clean_logits.argmax().item<std::int64_t>();
  const double p_top = at::softmax(clean_logits, -1)[top].item<double>();
  const mechlens::LogitMetric metric = [=](const at::Tensor& logits) {
    return at::softmax(logits[0], -1)[top] / p_top;
  };
  mechlens::attribute_head_ablations(*model, single, kind, answer, {metric});  // warm-up
  start = Clock::now();
  const at::Tensor estimate = mechlens::attribute_head_ablations(*model, single, kind, answer, {metric})[0];
  const double t_attribution = seconds_since(start);
  const at::Tensor exact = (at::softmax(batched.to(at::kDouble), -1).select(2, top) - p_top) / p_top;  // [L, H]
  auto ranks = [](const at::Tensor& v) { return v.flatten().argsort().argsort().to(at::kDouble); };
  const at::Tensor ra = ranks(estimate.abs()), rb = ranks(exact.abs());
  const double n = static_cast<double>(ra.numel());
  const double rho = 1 - 6 * (ra - rb).pow(2).sum().item<double>() / (n * (n * n - 1));
  std::printf("  attribution patching (1 forward + 1 backward): %8.2f s, %.1fx faster than the batched sweep; "
              "Spearman(|estimate|, |exact|) over %d heads: %.3f\n",
              t_attribution, t_batched / t_attribution, static_cast<int>(n), rho);
  return 0;
}
