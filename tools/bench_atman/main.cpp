// bench_atman: AtMan (seed 002) on a random LLaVA-OneVision checkpoint with a
// 384 x 384 image in the prompt (base 27 x 27 + high-res 27 x 28 = 1,485
// image tokens at the real shapes): seconds, forward-equivalents with and
// without causal prefix reuse, and peak resident memory (VmHWM) against
// weights + one plain forward at the same batch. Not a test.
//   bench_atman DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--rows N]
//               [--max-batch N] [--threads N]
// DIR is written when it has no config.json. --shape 0.5b: Qwen2-0.5B
// decoder (24 layers, d 896) and a SigLIP-so400m-shaped tower (26 layers,
// d 1152). The crops are 378 px of 14 px patches (the tiny writer wants a
// whole number of patches; SigLIP's 384 px with 14 px patches gives the same
// 27 x 27 grid), and the image is one crop's size: 1,485 image tokens. --rows N explains only the first N
// image tokens (the full run's time is extrapolated per row).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

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
    std::cerr << "usage: bench_atman DIR [--shape tiny|0.5b] [--dtype float32|bfloat16] [--rows N] [--max-batch N] "
                 "[--threads N]\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    std::string shape = "tiny", dtype = "float32";
    std::int64_t rows = 0, max_batch = 8;
    int threads = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--shape") shape = value;
      else if (flag == "--dtype") dtype = value;
      else if (flag == "--rows") rows = std::stoll(value);
      else if (flag == "--max-batch") max_batch = std::stoll(value);
      else if (flag == "--threads") threads = std::stoi(value);
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
    const auto all_rows = static_cast<std::int64_t>(explained.size());
    if (rows > 0 && rows < all_rows) explained.resize(static_cast<std::size_t>(rows));
    const auto R = static_cast<std::int64_t>(explained.size());
    const double weights_mib = static_cast<double>(weight_bytes(dir)) / (1024.0 * 1024.0);
    std::cout << "checkpoint " << dir << " (" << shape << ", " << dtype << ", weights " << weights_mib << " MiB): " << T
              << " tokens, " << layout.tokens() << " image tokens; explaining " << R << " of " << all_rows
              << ", max_batch " << max_batch << ", " << at::get_num_threads() << " threads" << std::endl;

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
    {
      t0 = std::chrono::steady_clock::now();
      const at::Tensor wide = model->forward_from(0, embeds.expand({B, T, embeds.size(2)}).contiguous(), batch, nullptr, last);
      std::cout << "plain forward: batch 1 " << forward_s << " s, batch " << B << " " << seconds_since(t0)
                << " s (vision + embed " << embed_s << " s); peak RSS after it " << peak_rss_mib() << " MiB" << std::endl;
    }
    const double plain_peak = peak_rss_mib();

    t0 = std::chrono::steady_clock::now();
    const at::Tensor factors = mechlens::suppression_factors(embeds[0], explained, 0.1, true, 0.6);
    const at::Tensor ce =
        mechlens::suppressed_cross_entropy(*model, batch, embeds, factors, {}, last, target, max_batch);
    const double atman_s = seconds_since(t0);
    if (!at::isfinite(ce).all().item<bool>()) throw std::runtime_error("non-finite cross-entropy");
    double reuse = 1.0;
    const at::Tensor edited = (factors != 1.0f).to(at::kInt);
    for (std::int64_t r = 0; r < R; ++r)
      reuse += static_cast<double>(T - edited[r].argmax().item<std::int64_t>()) / static_cast<double>(T);
    const double per_row = atman_s / static_cast<double>(R);
    std::cout << "AtMan: " << R << " rows in " << atman_s << " s (" << per_row << " s per row; all " << all_rows
              << " image tokens ~ " << per_row * all_rows << " s)\n"
              << "forward-equivalents: " << 1 + R << " without prefix reuse, " << reuse
              << " with it (computed, not used); co-suppressed keys per row "
              << edited.sum(1).to(at::kDouble).mean().item<double>() << "\n"
              << "peak RSS " << peak_rss_mib() << " MiB vs weights + one plain forward at batch " << B << ": "
              << plain_peak << " MiB (ratio " << peak_rss_mib() / plain_peak << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_atman: " << e.what() << "\n";
    return 1;
  }
}
