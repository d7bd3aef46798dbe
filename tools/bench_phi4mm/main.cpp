// bench_phi4mm: closing-note figures of the phi4mm adapter on a full-size
// random Phi-4-multimodal checkpoint (remote-code layout, bf16, 3 shards +
// index: 32 layers, d 3072, 24 / 8 heads, FFN 8192, vocab 200,064, vision
// LoRA r 256, speech LoRA r 320; no image encoder, ~9.4 GB), written to DIR
// when it has no config.json (not committed anywhere: generate it in /tmp).
//   bench_phi4mm DIR [--generate-only] [--tokens N] [--lora runtime|merged] [--threads N]
// Prints: load seconds, RSS and peak RSS after loading (VmRSS / VmHWM: the
// weights are mmapped, so RSS counts only the pages touched), then one
// decoder block at N tokens in bf16 with the vision LoRA on (as for an image
// prompt), timed, extrapolated to the whole forward (32 blocks + the final
// norm and LM head at the answer position), and the same block with one
// head of hook_z zeroed (one cell of the sensitivity sweep), extrapolated to
// the sweep of one prompt: 24 heads x sum over layers L of (32 - L) blocks.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "models/phi4mm/phi4mm_model.hpp"
#include "tiny_phi4mm.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string status_line(const char* key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(key, 0) == 0) return line.substr(std::string(key).size());
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mechlens;
  if (argc < 2) {
    std::cerr << "usage: bench_phi4mm DIR [--generate-only] [--tokens N] [--lora runtime|merged] [--threads N]\n";
    return 2;
  }
  const std::string dir = argv[1];
  std::int64_t tokens = 1000;
  std::string lora = "runtime";
  bool generate_only = false;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--generate-only") generate_only = true;
    else if (flag == "--tokens" && i + 1 < argc) tokens = std::stoll(argv[++i]);
    else if (flag == "--lora" && i + 1 < argc) lora = argv[++i];
    else if (flag == "--threads" && i + 1 < argc) at::set_num_threads(std::stoi(argv[++i]));
    else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    if (!std::filesystem::exists(std::filesystem::path(dir) / "config.json")) {
      const auto t = Clock::now();
      tiny::write_tiny_phi4mm(dir, tiny::TinyPhi4mmOptions::phi4mm_shaped());
      std::cout << "generated " << dir << " in " << since(t) << " s\n" << std::flush;
    }
    if (generate_only) return 0;
    std::uintmax_t bytes = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
      if (e.is_regular_file()) bytes += e.file_size();
    std::cout << "checkpoint files: " << bytes / 1e9 << " GB\n";

    models::LoadOptions options;
    options.path = dir;
    options.dtype = "bfloat16";
    options.lora = lora;
    auto t = Clock::now();
    const auto model = models::phi4mm::Phi4mmModel::load(options);
    std::cout << "load: " << since(t) << " s (lora " << lora << ", " << model->identity().format << "), RSS"
              << status_line("VmRSS:") << ", peak" << status_line("VmHWM:") << "\n"
              << std::flush;

    const Geometry g = model->geometry();
    at::manual_seed(0);
    const at::Tensor ids = at::randint(0, 199000, {1, tokens}, at::kLong);
    std::vector<EncodedInput> inputs(1);
    inputs[0].spec.image = "/marks/the/row/as/an/image/prompt.png";  // the vision LoRA on, as for an image prompt
    Batch batch;
    batch.ids = ids;
    batch.attention_mask = at::ones({1, tokens}, at::kBool);
    batch.inputs = {&inputs[0]};
    at::NoGradGuard no_grad;
    const at::Tensor x = model->embed(batch, nullptr);
    t = Clock::now();
    const at::Tensor y = model->run_blocks(x, batch, g.n_layers - 1, g.n_layers, nullptr);
    const double block = since(t);
    t = Clock::now();
    model->unembed(y.narrow(1, tokens - 1, 1), nullptr);
    const double head = since(t);
    std::cout << "one block at " << tokens << " tokens (bf16, LoRA on): " << block << " s; final norm + LM head at one position: "
              << head << " s\n";
    std::cout << "forward estimate (" << g.n_layers << " blocks + head): " << g.n_layers * block + head << " s\n" << std::flush;

    HookSet hooks;
    hooks.add_write("blocks." + std::to_string(g.n_layers - 1) + ".attn.hook_z", [](const std::string&, const at::Tensor& z) {
      at::Tensor out = z.clone();
      out.select(2, 0).zero_();
      return out;
    });
    t = Clock::now();
    model->run_blocks(x, batch, g.n_layers - 1, g.n_layers, &hooks);
    const double ablated = since(t);
    double runs = 0;
    for (int l = 0; l < g.n_layers; ++l) runs += g.n_layers - l;
    std::cout << "one ablated block: " << ablated << " s; sweep of one prompt (" << g.n_heads << " heads x " << runs
              << " block runs + heads): " << g.n_heads * (runs * ablated + g.n_layers * head) / 3600.0 << " h\n";
    std::cout << "peak RSS" << status_line("VmHWM:") << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_phi4mm: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
