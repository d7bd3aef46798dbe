// Benchmark (run by hand, not a test) of the sensitivity sweep (issue 14), in
// one invocation on one random checkpoint and one input:
//   - mechlens' exact sweep (clean run caching resid_pre, then each layer's
//     heads as one batch from that layer on, the head at the answer only),
//   - the plain-PyTorch peer tools/sensitivity_peer.py doing the same sweep
//     (Debian python3-torch) on the same checkpoint and ids: the ratio, and
//     that both found the same p(t*) for every head,
//   - PyTorch's own 2048^3 matmul GFLOP/s (python and libtorch) as the peak,
//   - the GEMM FLOPs each side executes, counted (RecordFunction here, a
//     TorchDispatchMode there), against the floor the ablation needs,
//   - where mechlens' time goes, by ATen op and category,
//   - attribution patching (1 forward + 1 backward): seconds, speed-up, and
//     Spearman(|estimate|, |exact|),
//   - --memory: peak RSS of the sweep and of attribution, each in a child
//     process, against weights + one batched forward / one forward with its
//     saved activations.
//
//   build/bin/bench_sensitivity [--model bert|qwen2] [--tokens N] [--threads N] [--dtype float32|bfloat16]
//       [--layers FIRST:LAST] [--dir DIR] [--peer PATH|none] [--rounds N] [--memory] [--naive]
// The machine's speed drifts by 10% and more within a minute (a shared VM):
// the timed mechlens sweep and the peer alternate --rounds times (default 3)
// and the ratio is the median of the rounds' ratios.
// BERT-base shape at 128 tokens (all layers swept) and a Qwen2-0.5B shape at
// 256 tokens (its last 4 layers swept) by default.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "host/allocator.hpp"
#include "mechlens/interventions.hpp"
#include "models/registry.hpp"
#include "op_profile.hpp"
#include "tiny_bert.hpp"
#include "tiny_qwen2.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

struct Options {
  std::string model = "bert";
  int tokens = 0;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::string dtype = "float32";
  std::string dir;
  int first = -1, last = -1;  // layers swept, half-open; default: all (BERT), the last 4 (Qwen2)
  std::string peer = (std::filesystem::path(__FILE__).parent_path().parent_path() / "sensitivity_peer.py").string();
  bool memory = false, naive = false;
  int rounds = 3;     // timed mechlens sweeps alternating with peer processes
  std::string phase;  // child process: "load", "forward", "sweep", "forward_saved", "attribution"
};

// The FLOPs the exact sweep cannot avoid (multiply-add = 2): the clean
// forward; per ablated layer L and head: W_O·z_h at the head's dh columns,
// the rest of layer L and layers L+1.. at every position except the last
// layer (keys/values at every position, everything else at the answer row),
// and the head at the answer.
struct Floor {
  double layers, heads, kv, d, dh, ff, vocab, t;
  bool gated;  // Qwen2's gate/up/down FFN
  double qkv(double rows) const { return 2 * rows * d * (heads + 2 * kv) * dh; }
  double kv_only(double rows) const { return 2 * rows * d * 2 * kv * dh; }
  double attn(double queries) const { return 2 * 2 * queries * t * heads * dh; }
  double o(double rows) const { return 2 * rows * heads * dh * d; }
  double ffn(double rows) const { return (gated ? 3 : 2) * 2 * rows * d * ff; }
  double layer() const { return qkv(t) + attn(t) + o(t) + ffn(t); }
  double last_layer_answer_only() const { return kv_only(t) + qkv(1) - kv_only(1) + attn(1) + o(1) + ffn(1); }
  double head() const { return 2 * d * vocab + (gated ? 0 : 2 * d * d); }  // BERT's MLM transform too
  double clean() const { return layers * layer() + head(); }
  double per_head(int l) const {
    const bool last = l == layers - 1;
    double f = (last ? 2 * dh * d + ffn(1) : 2 * t * dh * d + ffn(t)) + head();
    for (int later = l + 1; later < layers; ++later) f += later == layers - 1 ? last_layer_answer_only() : layer();
    return f;
  }
  double sweep(int first, int last) const {
    double f = clean();
    for (int l = first; l < last; ++l) f += heads * per_head(l);
    return f;
  }
};

double matmul_gflops(at::ScalarType dtype, int n) {
  const at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  at::matmul(a, b);  // warm-up
  const int reps = 5;
  const auto start = Clock::now();
  for (int i = 0; i < reps; ++i) at::matmul(a, b);
  return reps * 2.0 * n * n * n / seconds_since(start) / 1e9;
}

struct Setup {
  std::unique_ptr<mechlens::Model> model;
  mechlens::EncodedInput input;
  mechlens::Batch single;
  at::Tensor answer;
  std::vector<std::int64_t> ids;
};

Setup setup(const Options& o) {
  if (!std::filesystem::exists(o.dir + "/config.json")) {
    std::cerr << "writing a " << o.model << " random checkpoint to " << o.dir << "\n";
    if (o.model == "bert") {
      mechlens::tiny::write_tiny_bert(o.dir, mechlens::tiny::TinyBertOptions::bert_base_shaped());
    } else {
      mechlens::tiny::TinyQwen2Options q = mechlens::tiny::TinyQwen2Options::qwen2_0_5b_shaped();
      mechlens::tiny::write_tiny_qwen2(o.dir, q);
    }
  }
  Setup s;
  s.model = mechlens::models::load(o.model, {o.dir, o.dtype, "cpu"});
  const mechlens::Geometry g = s.model->geometry();
  // Random vocabulary ids (fixed seed: every process of this run sees the same input).
  at::manual_seed(14);
  at::Tensor ids = at::randint(1000, std::min(g.vocab_size, 30000), {o.tokens}, at::kLong);
  if (o.model == "bert") ids[0] = 101, ids[o.tokens - 1] = 102, ids[o.tokens / 2] = 103;
  s.ids.assign(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + o.tokens);
  s.input.ids = s.ids;
  s.input.answer_position = o.model == "bert" ? o.tokens / 2 : o.tokens - 1;
  s.single = s.model->make_batch({&s.input});
  s.answer = at::tensor({s.input.answer_position}, at::kLong);
  return s;
}

// The exact sweep, as sensitivity_matrix runs it, with p(t*) per head: [layers, heads].
at::Tensor exact_sweep(const Setup& s, int first, int last, std::int64_t* top = nullptr) {
  const mechlens::Geometry g = s.model->geometry();
  const mechlens::CleanRun clean = mechlens::capture_resid_pre(*s.model, s.single, s.answer);
  const std::int64_t t = clean.logits[0][0].argmax().item<std::int64_t>();
  if (top) *top = t;
  at::Tensor p = at::full({g.n_layers, g.n_heads}, std::nan(""), at::kDouble);
  for (int l = first; l < last; ++l) {
    const at::Tensor rows = mechlens::ablate_each_head(*s.model, s.single, clean.resid_pre[l], l,
                                                       mechlens::HeadAblation::zero, s.answer).select(1, 0);
    p[l] = at::softmax(rows.to(at::kDouble), -1).select(1, t);
  }
  return p;
}

mechlens::LogitMetric top_prob_metric(std::int64_t top, double p_top) {
  return [=](const at::Tensor& logits) { return at::softmax(logits[0].to(at::kDouble), -1)[top] / p_top; };
}

// Child process: one phase, then its peak RSS on stdout.
int run_phase(const Options& o) {
  const Setup s = setup(o);
  const mechlens::Geometry g = s.model->geometry();
  if (o.phase == "forward") {  // weights + one forward at the sweep's batch (n_heads rows)
    at::NoGradGuard no_grad;
    std::vector<const mechlens::EncodedInput*> rows(g.n_heads, &s.input);
    s.model->forward(s.model->make_batch(rows), nullptr, s.answer);
  } else if (o.phase == "sweep") {
    at::NoGradGuard no_grad;
    exact_sweep(s, o.first, o.last);
  } else if (o.phase == "forward_saved") {  // one forward keeping what a backward needs
    at::Tensor x = s.model->embed(s.single, nullptr).detach().requires_grad_(true);
    at::Tensor logits = s.model->forward_from(0, x, s.single, nullptr, s.answer);
    std::printf("peak_rss %.0f\n", peak_rss_bytes());
    return logits.defined() ? 0 : 1;
  } else if (o.phase == "attribution") {
    at::Tensor logits;
    {
      at::NoGradGuard no_grad;
      logits = s.model->forward(s.single, nullptr, s.answer)[0][0].to(at::kDouble);
    }
    const std::int64_t top = logits.argmax().item<std::int64_t>();
    const double p = at::softmax(logits, -1)[top].item<double>();
    mechlens::attribute_head_ablations(*s.model, s.single, mechlens::HeadAblation::zero, s.answer,
                                       {top_prob_metric(top, p)});
  } else if (o.phase != "load") {
    std::cerr << "unknown phase " << o.phase << "\n";
    return 2;
  }
  std::printf("peak_rss %.0f\n", peak_rss_bytes());
  return 0;
}

std::string run_and_read(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// One run of the peer process: same checkpoint, same ids, same layers.
struct PeerRun {
  double seconds = -1, gemm_flops = -1, matmul_gflops = -1;
  std::int64_t top_token = -1;
  std::vector<double> p_top;
};

PeerRun run_peer(const Options& o, const std::vector<std::int64_t>& ids, std::int64_t answer, bool count_flops) {
  const std::string ids_file = o.dir + "/bench_ids.txt";
  {
    std::ofstream f(ids_file);
    for (auto id : ids) f << id << ' ';
  }
  const std::string cmd = "/usr/bin/python3 " + o.peer + " --checkpoint " + o.dir + " --ids " + ids_file +
                          " --answer " + std::to_string(answer) + " --threads " + std::to_string(o.threads) +
                          " --layers " + std::to_string(o.first) + ":" + std::to_string(o.last) + " --dtype " +
                          o.dtype + (count_flops ? "" : " --no-count");
  const std::string out = run_and_read(cmd);
  PeerRun run;
  try {
    const auto j = nlohmann::json::parse(out.substr(out.rfind("{\"seconds\"")));
    run.seconds = j["seconds"], run.gemm_flops = j["gemm_flops"], run.matmul_gflops = j["matmul_2048_gflops"];
    run.top_token = j["top_token"];
    run.p_top = j["p_top"].get<std::vector<double>>();
  } catch (const std::exception& e) {
    std::printf("  peer failed (%s): %s\n", e.what(), out.substr(0, 400).c_str());
  }
  return run;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double child_peak(const std::string& self, const Options& o, const std::string& phase) {
  const std::string cmd = self + " --model " + o.model + " --tokens " + std::to_string(o.tokens) + " --threads " +
                          std::to_string(o.threads) + " --dtype " + o.dtype + " --dir " + o.dir + " --layers " +
                          std::to_string(o.first) + ":" + std::to_string(o.last) + " --phase " + phase;
  const std::string out = run_and_read(cmd);
  const auto at = out.find("peak_rss ");
  return at == std::string::npos ? -1.0 : std::stod(out.substr(at + 9));
}

double spearman_abs(const at::Tensor& a, const at::Tensor& b) {
  auto ranks = [](const at::Tensor& v) { return v.abs().flatten().argsort().argsort().to(at::kDouble); };
  const at::Tensor ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(ra.numel());
  return 1 - 6 * (ra - rb).pow(2).sum().item<double>() / (n * (n * n - 1));
}

void print_profile(const bench::OpProfile& p, double wall) {
  std::map<std::string, double> by_category;
  std::vector<std::pair<double, std::string>> ops;
  double recorded = 0;
  for (const auto& [name, s] : p.ops) {
    by_category[bench::category_of(name)] += s.self_seconds;
    ops.push_back({s.self_seconds, name});
    recorded += s.self_seconds;
  }
  std::sort(ops.rbegin(), ops.rend());
  std::printf("  where mechlens' sweep time goes (self time by ATen op, profiled pass of %.2f s wall):\n", wall);
  std::vector<std::pair<double, std::string>> cats;
  for (const auto& [c, sec] : by_category) cats.push_back({sec, c});
  std::sort(cats.rbegin(), cats.rend());
  for (const auto& [sec, c] : cats) std::printf("    %-52s %7.2f s  %5.1f%%\n", c.c_str(), sec, 100 * sec / wall);
  std::printf("    %-52s %7.2f s  %5.1f%%\n", "outside ATen ops (hooks' C++, loop, dispatch)", wall - recorded,
              100 * (wall - recorded) / wall);
  std::printf("    top ops:");
  for (std::size_t i = 0; i < ops.size() && i < 12; ++i)
    std::printf(" %s %.2fs (%lld calls);", ops[i].second.c_str(), ops[i].first,
                static_cast<long long>(p.ops.at(ops[i].second).calls));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--memory") { o.memory = true; continue; }
    if (flag == "--naive") { o.naive = true; continue; }
    if (i + 1 >= argc) { std::cerr << "missing value for " << flag << "\n"; return 2; }
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--tokens") o.tokens = std::stoi(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--dtype") o.dtype = value;
    else if (flag == "--dir") o.dir = value;
    else if (flag == "--peer") o.peer = value;
    else if (flag == "--phase") o.phase = value;
    else if (flag == "--rounds") o.rounds = std::max(1, std::stoi(value));
    else if (flag == "--layers") o.first = std::stoi(value), o.last = std::stoi(value.substr(value.find(':') + 1));
    else { std::cerr << "unknown flag " << flag << "\n"; return 2; }
  }
  if (o.model != "bert" && o.model != "qwen2") { std::cerr << "--model bert|qwen2\n"; return 2; }
  if (o.tokens <= 0) o.tokens = o.model == "bert" ? 128 : 256;
  if (o.dir.empty())
    o.dir = (std::filesystem::temp_directory_path() /
             (o.model == "bert" ? "mechlens-bench-bert-base" : "mechlens-bench-qwen2-0.5b")).string();
  at::set_num_threads(o.threads);
  {
    // Resolve the layer range once the geometry is known (children get it explicit).
    if (!o.phase.empty()) {
      mechlens::host::keep_freed_memory_for_reuse();  // as the CLI runs
      return run_phase(o);
    }
  }
  Setup s = setup(o);
  const mechlens::Geometry g = s.model->geometry();
  // A full 24-layer Qwen2-0.5B sweep takes minutes per side and round: by
  // default the last 4 layers (--layers 0:24 for all of them).
  if (o.first < 0) o.first = o.model == "qwen2" ? std::max(0, g.n_layers - 4) : 0;
  if (o.last < 0 || o.last > g.n_layers) o.last = g.n_layers;
  if (o.first < 0 || o.first >= o.last) { std::cerr << "bad --layers\n"; return 2; }
  const auto st = o.dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;

  std::printf("%s sweep: %d layers x %d heads (%d KV), d_model %d, %d tokens, %s, %d threads; layers %d..%d swept\n",
              o.model.c_str(), g.n_layers, g.n_heads, g.n_kv_heads, g.d_model, o.tokens, o.dtype.c_str(), o.threads,
              o.first, o.last - 1);
  std::fflush(stdout);

  // mechlens with glibc's default malloc once (warm-up: the last swept layer),
  // then as the CLI runs (freed memory kept for reuse).
  at::Tensor p_exact;
  std::int64_t top = -1;
  double t_default_malloc = 0;
  {
    at::NoGradGuard no_grad;
    exact_sweep(s, o.last - 1, o.last);
    const auto start = Clock::now();
    exact_sweep(s, o.first, o.last);
    t_default_malloc = seconds_since(start);
    mechlens::host::keep_freed_memory_for_reuse();
    p_exact = exact_sweep(s, o.last - 1, o.last, &top);
  }
  // Under the op recorder: FLOPs counted and the time by op.
  bench::OpProfile profile;
  double t_profiled = 0;
  {
    at::NoGradGuard no_grad;
    bench::OpRecorder recorder;
    const auto start = Clock::now();
    exact_sweep(s, o.first, o.last);
    t_profiled = seconds_since(start);
    profile = recorder.result();
  }
  const double plain_cpp = matmul_gflops(st, 2048);

  // Timed rounds: mechlens, then the peer, --rounds times.
  std::vector<double> t_ml, t_py, ratios;
  PeerRun first_peer;
  double peer_diff = -1;
  for (int r = 0; r < o.rounds; ++r) {
    {
      at::NoGradGuard no_grad;
      const auto start = Clock::now();
      p_exact = exact_sweep(s, o.first, o.last, &top);
      t_ml.push_back(seconds_since(start));
    }
    if (o.peer == "none") continue;
    const PeerRun peer = run_peer(o, s.ids, s.input.answer_position, /*count_flops=*/r == 0);
    if (peer.seconds <= 0) break;
    if (r == 0) {
      first_peer = peer;
      const at::Tensor mine = p_exact.narrow(0, o.first, o.last - o.first).flatten();
      if (peer.top_token != top) std::printf("  PEER DISAGREES on the clean top token\n");
      if (static_cast<std::int64_t>(peer.p_top.size()) == mine.numel())
        peer_diff = (mine - at::tensor(peer.p_top, at::kDouble)).abs().max().item<double>();
    }
    t_py.push_back(peer.seconds);
    ratios.push_back(peer.seconds / t_ml.back());
  }
  const double t_mechlens = median(t_ml), t_peer = median(t_py), peer_flops = first_peer.gemm_flops,
               plain_py = first_peer.matmul_gflops;
  const auto list = [](const std::vector<double>& v) {
    std::string out;
    char buffer[32];
    for (double x : v) std::snprintf(buffer, sizeof buffer, "%s%.2f", out.empty() ? "" : " ", x), out += buffer;
    return out;
  };

  const double d_ff = nlohmann::json::parse(std::ifstream(o.dir + "/config.json"))["intermediate_size"].get<double>();
  const Floor fl{double(g.n_layers), double(g.n_heads), double(g.n_kv_heads), double(g.d_model), double(g.d_head),
                 d_ff, double(g.vocab_size), double(o.tokens), o.model == "qwen2"};
  const double floor_flops = fl.sweep(o.first, o.last);
  std::printf("  mechlens exact sweep, glibc's default malloc: %.2f s\n", t_default_malloc);
  std::printf("  mechlens exact sweep:      %8.2f s   %8.1f GFLOP executed (counted)  %6.1f GFLOP/s (median)\n", t_mechlens,
              profile.gemm_flops / 1e9, profile.gemm_flops / t_mechlens / 1e9);
  if (t_peer > 0)
    std::printf("  plain PyTorch peer:        %8.2f s   %8.1f GFLOP executed (counted)  %6.1f GFLOP/s (median)\n", t_peer,
                peer_flops / 1e9, peer_flops / t_peer / 1e9);
  std::printf("  FLOP floor of this sweep:             %8.1f GFLOP (mechlens runs %.2fx of it)\n", floor_flops / 1e9,
              profile.gemm_flops / floor_flops);
  if (t_peer > 0) {
    std::printf("  mechlens / peer speed: %.2fx (median over %zu rounds of peer seconds / mechlens seconds); "
                "max |p(t*) mechlens - peer| %.3g\n",
                median(ratios), ratios.size(), peer_diff);
    std::printf("    rounds, seconds: mechlens %s | peer %s | ratio %s\n", list(t_ml).c_str(), list(t_py).c_str(),
                list(ratios).c_str());
  }
  std::printf("  peak reference, 2048^3 matmul: %.1f GFLOP/s (python torch %s), %.1f GFLOP/s (libtorch here)\n",
              plain_py, "1.13", plain_cpp);
  std::printf("  mechlens GEMM-FLOP rate / python matmul peak: %.0f%%\n",
              100.0 * profile.gemm_flops / t_mechlens / 1e9 / std::max(plain_py, plain_cpp));
  print_profile(profile, t_profiled);
  std::fflush(stdout);

  if (o.naive) {
    at::NoGradGuard no_grad;
    const auto start = Clock::now();
    double max_diff = 0;
    for (int l = o.first; l < o.last; ++l)
      for (int h = 0; h < g.n_heads; ++h) {
        mechlens::HookSet hooks;
        mechlens::add_head_ablations(hooks, g, {mechlens::LayerHead{l, h}}, mechlens::HeadAblation::zero);
        const at::Tensor row = s.model->forward(s.single, &hooks, s.answer)[0][0].to(at::kDouble);
        max_diff = std::max(max_diff, std::abs(at::softmax(row, -1)[top].item<double>() - p_exact[l][h].item<double>()));
      }
    std::printf("  naive loop (one full forward per head): %.2f s; max |p(t*) batched - naive| %.3g\n",
                seconds_since(start), max_diff);
  }

  // Attribution patching of the same matrix (top1_prob_change, zero ablation).
  {
    at::Tensor clean_logits;
    {
      at::NoGradGuard no_grad;
      clean_logits = s.model->forward(s.single, nullptr, s.answer)[0][0].to(at::kDouble);
    }
    const double p_top = at::softmax(clean_logits, -1)[top].item<double>();
    const auto metric = top_prob_metric(top, p_top);
    mechlens::attribute_head_ablations(*s.model, s.single, mechlens::HeadAblation::zero, s.answer, {metric});
    const auto start = Clock::now();
    const at::Tensor estimate =
        mechlens::attribute_head_ablations(*s.model, s.single, mechlens::HeadAblation::zero, s.answer, {metric})[0];
    const double t_attr = seconds_since(start);
    const at::Tensor exact = (p_exact - p_top) / p_top;
    const auto rows = [&](const at::Tensor& m) { return m.narrow(0, o.first, o.last - o.first); };
    std::printf("  attribution patching (1 forward + 1 backward, all %d layers): %.2f s, %.1fx faster than the "
                "exact sweep of layers %d..%d; Spearman(|estimate|, |exact|) over those %lld heads: %.3f\n",
                g.n_layers, t_attr, t_mechlens / t_attr, o.first, o.last - 1,
                static_cast<long long>(rows(exact).numel()), spearman_abs(rows(estimate), rows(exact)));
    std::fflush(stdout);
  }

  if (o.memory) {
    const std::string self = std::filesystem::canonical("/proc/self/exe").string();
    const double load = child_peak(self, o, "load"), fwd = child_peak(self, o, "forward"),
                 sweep = child_peak(self, o, "sweep"), saved = child_peak(self, o, "forward_saved"),
                 attr = child_peak(self, o, "attribution");
    std::printf("  peak RSS (each in its own process): weights %.2f GB; weights + one forward at batch %d %.2f GB; "
                "sweep %.2f GB (%.2fx of that)\n",
                load / 1e9, g.n_heads, fwd / 1e9, sweep / 1e9, sweep / fwd);
    std::printf("  peak RSS: weights + one forward with saved activations %.2f GB; attribution %.2f GB (%.2fx)\n",
                saved / 1e9, attr / 1e9, attr / saved);
  }
  return 0;
}
