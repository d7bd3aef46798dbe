// bench_atman: AtMan (seed 002) on a random LLaVA-OneVision checkpoint with a
// 384 x 384 image in the prompt (base 27 x 27 + high-res 27 x 28 = 1,485
// image tokens at the real shapes), explaining every image token with
// correlated suppression: seconds, forward-equivalents with and without
// causal prefix reuse, and peak resident memory (VmHWM) against weights +
// one plain forward at the same batch. Not a test.
//   bench_atman DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--chunks K]
//               [--max-batch N] [--threads N] [--text-layers N] [--vision-layers N]
//               [--max-ratio X] [--conceptual 1|0]
// DIR is written when it has no config.json. --shape 0.5b: Qwen2-0.5B
// decoder (24 layers, d 896) and a SigLIP-so400m-shaped tower (26 layers,
// d 1152); --text-layers / --vision-layers write fewer (a per-layer figure
// where the whole model is too slow, e.g. bf16 on a CPU without native
// bf16). The crops are 378 px of 14 px patches (the tiny writer wants a
// whole number of patches; SigLIP's 384 px with 14 px patches gives the same
// 27 x 27 grid), and the image is one crop's size: 1,485 image tokens.
//
// The full run is 1,485 rows; --chunks K (default: all) times K of its
// forwards (evenly spaced over the plan: rows ordered by their first
// suppressed key, max_batch per forward), each with prefix reuse and without,
// and extrapolates the seconds to every forward of the plan (stated as such).
// --conceptual 0 times plain suppression (the forward-equivalents of both
// are printed): on a random checkpoint the image features are so alike that
// correlated suppression (kappa 0.6) reaches nearly every image token, the
// first one included, which leaves little prefix to reuse.
// Exit status 3 when the peak RSS exceeds --max-ratio (default 1.2) x
// (weights + one plain forward at max_batch): AtMan's memory promise.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "mechlens/interventions.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "tiny_llava_onevision.hpp"

namespace {

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::uintmax_t weight_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") total += e.file_size();
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_atman DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--chunks K] [--max-batch N] "
                 "[--threads N] [--text-layers N] [--vision-layers N] [--max-ratio X]\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    std::string shape = "tiny", dtype = "float32";
    std::int64_t chunks_timed = 0, max_batch = 8;
    int threads = 2, text_layers = 0, vision_layers = 0;
    double max_ratio = 1.2;
    bool conceptual = true;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--shape") shape = value;
      else if (flag == "--dtype") dtype = value;
      else if (flag == "--chunks") chunks_timed = std::stoll(value);
      else if (flag == "--max-batch") max_batch = std::stoll(value);
      else if (flag == "--threads") threads = std::stoi(value);
      else if (flag == "--text-layers") text_layers = std::stoi(value);
      else if (flag == "--vision-layers") vision_layers = std::stoi(value);
      else if (flag == "--max-ratio") max_ratio = std::stod(value);
      else if (flag == "--conceptual") conceptual = value != "0";
      else throw std::runtime_error("unknown option " + flag);
    }
    at::set_num_threads(threads);
    if (!std::filesystem::exists(std::filesystem::path(dir) / "config.json")) {
      mechlens::tiny::TinyLlavaOptions o;
      if (shape == "0.5b") {
        o.text = mechlens::tiny::TinyQwen2Options::qwen2_0_5b_shaped();
        o.vision_layers = 26, o.vision_heads = 16, o.vision_d = 1152, o.vision_ff = 4304;
        o.image_size = 378, o.patch_size = 14;
      } else {
        o.image_size = 378, o.patch_size = 14;  // real token counts, tiny widths
      }
      if (text_layers > 0) o.text.layers = text_layers;
      if (vision_layers > 0) o.vision_layers = vision_layers;
      o.dtype = o.text.dtype = dtype;
      mechlens::tiny::write_tiny_llava_onevision(dir, o);
    }
    mechlens::models::LoadOptions options;
    options.path = dir;
    options.dtype = dtype;
    const auto model = mechlens::models::llava_onevision::LlavaOnevisionModel::load(options);
    const int S = model->config().vision.image_size;
    const auto layout = model->pack_layout_for(S, S);  // one crop's size: the base grid and one tile
    mechlens::EncodedInput in;
    in.spec.id = "bench";
    in.ids = {1, 2, 3};
    in.ids.insert(in.ids.end(), layout.tokens(), model->config().image_token_id);
    for (int i = 0; i < 20; ++i) in.ids.push_back(10 + i);
    at::manual_seed(0);
    in.extras["pixel_values"] = at::rand({1 + layout.tiles(), 3, S, S}) * 2 - 1;
    in.extras["image_size"] = at::tensor(std::vector<std::int64_t>{S, S}, at::kLong);
    const auto T = static_cast<std::int64_t>(in.ids.size());
    const auto batch = model->make_batch({&in});
    std::vector<std::int64_t> explained;
    for (std::int64_t t = 0; t < T; ++t)
      if (in.ids[t] == model->config().image_token_id) explained.push_back(t);
    const auto R = static_cast<std::int64_t>(explained.size());
    const double weights_mib = static_cast<double>(weight_bytes(dir)) / (1024.0 * 1024.0);
    const auto g = model->geometry();
    std::cout << "checkpoint " << dir << " (" << shape << ", " << dtype << ", " << g.n_layers << " text layers, "
              << model->config().vision.num_layers << " vision layers, weights " << weights_mib << " MiB): " << T
              << " tokens, " << layout.tokens() << " image tokens, all " << R << " explained; max_batch " << max_batch
              << ", " << at::get_num_threads() << " threads" << std::endl;

    at::NoGradGuard no_grad;
    const at::Tensor last = at::tensor(std::vector<std::int64_t>{T - 1}, at::kLong);
    auto t0 = std::chrono::steady_clock::now();
    const at::Tensor embeds = model->embed(batch, nullptr);
    const double embed_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const at::Tensor clean_logits = model->forward_from(0, embeds, batch, nullptr, last);
    const double forward_s = seconds_since(t0);
    const at::Tensor target = clean_logits[0][0].argmax().view({1});
    // Weights + one plain forward at max_batch rows (the reference for memory).
    const std::int64_t B = std::min(max_batch, R);
    double wide_s = 0;
    {
      t0 = std::chrono::steady_clock::now();
      const at::Tensor wide = model->forward_from(0, embeds.expand({B, T, embeds.size(2)}).contiguous(), batch, nullptr, last);
      wide_s = seconds_since(t0);
    }
    const double plain_peak = peak_rss_mib();
    std::cout << "vision + embed " << embed_s << " s; plain forward: batch 1 " << forward_s << " s, batch " << B << " "
              << wide_s << " s; peak RSS after it " << plain_peak << " MiB" << std::endl;

    // The clean forward AtMan compares against, keeping its keys/values.
    mechlens::KeyValueCache kv;
    t0 = std::chrono::steady_clock::now();
    const at::Tensor clean = mechlens::clean_cross_entropy(*model, batch, embeds, last, target, &kv);
    const double clean_s = seconds_since(t0);
    std::cout << "clean forward with recording " << clean_s << " s" << std::endl;
    at::Tensor factors;
    for (const bool correlated : {true, false}) {
      const at::Tensor f = mechlens::suppression_factors(embeds[0], explained, 0.1, correlated, 0.6);
      const at::Tensor first_key = (f != 1.0f).to(at::kInt).argmax(1).to(at::kDouble);
      std::cout << (correlated ? "correlated" : "plain") << " suppression, all " << R
                << " rows: forward-equivalents " << 1.0 + mechlens::suppression_forwards(f, last, max_batch, false)
                << " without prefix reuse, " << 1.0 + mechlens::suppression_forwards(f, last, max_batch, true)
                << " with it; suppressed keys per row " << (f != 1.0f).sum(1).to(at::kDouble).mean().item<double>()
                << ", first suppressed key mean " << first_key.mean().item<double>() << " (explained mean "
                << at::tensor(explained, at::kDouble).mean().item<double>() << ")" << std::endl;
      if (correlated == conceptual) factors = f;
    }
    const at::Tensor edited = (factors != 1.0f);

    // The plan with reuse: rows by first suppressed key, max_batch per forward.
    const at::Tensor first = edited.to(at::kInt).argmax(1);
    std::vector<std::pair<std::int64_t, std::int64_t>> order;
    for (std::int64_t r = 0; r < R; ++r) order.emplace_back(first[r].item<std::int64_t>(), r);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::vector<std::int64_t>> plan;
    for (std::size_t i = 0; i < order.size(); i += static_cast<std::size_t>(max_batch)) {
      plan.emplace_back();
      for (std::size_t j = i; j < std::min(order.size(), i + static_cast<std::size_t>(max_batch)); ++j)
        plan.back().push_back(order[j].second);
    }
    const auto n_chunks = static_cast<std::int64_t>(plan.size());
    const std::int64_t K = chunks_timed > 0 ? std::min(chunks_timed, n_chunks) : n_chunks;
    double with_s = 0, without_s = 0, with_fe = 0, without_fe = 0, max_diff = 0;
    for (std::int64_t k = 0; k < K; ++k) {
      // Evenly spaced over the plan (the middle of each of K equal parts).
      const std::int64_t c = (2 * k + 1) * n_chunks / (2 * K);
      const at::Tensor rows = factors.index_select(0, at::tensor(plan[static_cast<std::size_t>(c)], at::kLong));
      t0 = std::chrono::steady_clock::now();
      const at::Tensor reused =
          mechlens::suppressed_cross_entropy(*model, batch, embeds, rows, {}, last, target, max_batch, &kv, clean);
      const double a = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      const at::Tensor full = mechlens::suppressed_cross_entropy(*model, batch, embeds, rows, {}, last, target, max_batch);
      const double b = seconds_since(t0);
      if (!at::isfinite(full).all().item<bool>() || !at::isfinite(reused).all().item<bool>())
        throw std::runtime_error("non-finite cross-entropy");
      max_diff = std::max(max_diff, (reused - full).abs().max().item<double>());
      const double fe_a = mechlens::suppression_forwards(rows, last, max_batch, true);
      const double fe_b = mechlens::suppression_forwards(rows, last, max_batch, false);
      with_s += a, without_s += b, with_fe += fe_a, without_fe += fe_b;
      std::cout << "forward " << c << " of " << n_chunks << " (" << rows.size(0) << " rows, first suppressed key "
                << order[static_cast<std::size_t>(c * max_batch)].first << "): with reuse " << a << " s (" << fe_a
                << " forward-equivalents), without " << b << " s (" << fe_b << "); peak RSS " << peak_rss_mib()
                << " MiB" << std::endl;
    }
    const double scale = static_cast<double>(n_chunks) / static_cast<double>(K);
    const double peak = peak_rss_mib(), ratio = peak / plain_peak;
    std::cout << "AtMan (" << (conceptual ? "correlated" : "plain") << " suppression), all " << R << " rows" << (K < n_chunks ? " (extrapolated from " : " (measured: ") << K
              << " of " << n_chunks << " forwards): with prefix reuse " << clean_s + with_s * scale << " s, without "
              << forward_s + without_s * scale << " s (+ vision " << embed_s << " s); measured " << with_s / with_fe
              << " s per forward-equivalent with reuse, " << without_s / without_fe
              << " without; |CE with - without| <= " << max_diff << "\n"
              << "peak RSS " << peak << " MiB vs weights + one plain forward at batch " << B << ": " << plain_peak
              << " MiB (ratio " << ratio << ", limit " << max_ratio << ")" << std::endl;
    if (ratio > max_ratio) {
      std::cerr << "bench_atman: peak memory " << ratio << " x weights + one forward exceeds " << max_ratio << "\n";
      return 3;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_atman: " << e.what() << "\n";
    return 1;
  }
}
