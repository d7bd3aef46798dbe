// mechlens-make-tiny: writes a tiny random checkpoint in Hugging Face layout.
//   mechlens-make-tiny bert OUT_DIR [--layers N] [--heads N] [--d-model N] [--d-ff N]
//       [--positions N] [--vocab-size N] [--seed N] [--dtype float32|bfloat16] [--shards N]
//       [--no-mlm-head] [--untied-decoder] [--bare] [--gamma-beta] [--hidden-act NAME] [--bert-base]
#include <cstdlib>
#include <iostream>
#include <string>

#include "mechlens/error.hpp"
#include "tiny_bert.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_phi4mm.hpp"
#include "tiny_qwen2.hpp"

namespace {

const char* const kUsage =
    "usage: mechlens-make-tiny bert OUT_DIR [options]\n"
    "  --layers N --heads N --d-model N --d-ff N --positions N --vocab-size N --seed N\n"
    "  --dtype float32|bfloat16   --shards N (N > 1 writes an index)\n"
    "  --no-mlm-head (bare encoder)  --untied-decoder  --bare (no 'bert.' prefix)\n"
    "  --gamma-beta (old LayerNorm names)  --hidden-act NAME\n"
    "  --bert-base (12 layers, 12 heads, 768, 3072, vocab 30522; later options override)\n"
    "usage: mechlens-make-tiny qwen2 OUT_DIR [--layers N] [--seed N] [--dtype float32|bfloat16] [--untied]\n"
    "  [--qwen2-0.5b (24 layers, d 896, 14 heads / 2 KV, FFN 4864, vocab 151936)]\n"
    "usage: mechlens-make-tiny llava_onevision OUT_DIR [--seed N] [--dtype float32|bfloat16] [--newer-layout]\n"
    "usage: mechlens-make-tiny phi4mm OUT_DIR [--layers N] [--seed N] [--dtype float32|bfloat16] [--shards N] [--native]\n"
    "  [--no-vision] [--phi4mm-shaped (32 layers, d 3072, 24 / 8 heads, FFN 8192, vocab 200064, LoRA r 256, bf16, 3 shards)]\n";

int to_int(const std::string& flag, const std::string& value) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    mechlens::fail(flag, "expects an integer, got '" + value + "'");
  }
}

// qwen2 and llava_onevision (tiny_qwen2.hpp, tiny_llava_onevision.hpp).
int write_decoder_family(const std::string& family, const std::string& out, int argc, char** argv) {
  mechlens::tiny::TinyLlavaOptions o;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) mechlens::fail(flag, "needs a value");
      return argv[++i];
    };
    if (flag == "--qwen2-0.5b") o.text = mechlens::tiny::TinyQwen2Options::qwen2_0_5b_shaped();
    else if (flag == "--layers") o.text.layers = to_int(flag, value());
    else if (flag == "--seed") o.text.seed = o.seed = static_cast<std::uint64_t>(to_int(flag, value()));
    else if (flag == "--dtype") o.text.dtype = o.dtype = value();
    else if (flag == "--untied") o.text.tie_word_embeddings = false;
    else if (flag == "--newer-layout") o.newer_layout = true;
    else mechlens::fail(flag, "unknown option\n" + std::string(kUsage));
  }
  if (family == "qwen2") mechlens::tiny::write_tiny_qwen2(out, o.text);
  else mechlens::tiny::write_tiny_llava_onevision(out, o);
  std::cout << out << "\n";
  return 0;
}

// phi4mm (tiny_phi4mm.hpp).
int write_phi4mm(const std::string& out, int argc, char** argv) {
  mechlens::tiny::TinyPhi4mmOptions o;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) mechlens::fail(flag, "needs a value");
      return argv[++i];
    };
    if (flag == "--phi4mm-shaped") o = mechlens::tiny::TinyPhi4mmOptions::phi4mm_shaped();
    else if (flag == "--layers") o.layers = to_int(flag, value());
    else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(to_int(flag, value()));
    else if (flag == "--dtype") o.dtype = value();
    else if (flag == "--shards") o.shards = to_int(flag, value());
    else if (flag == "--native") o.native_layout = true;
    else if (flag == "--no-vision") o.with_vision = false;
    else mechlens::fail(flag, "unknown option\n" + std::string(kUsage));
  }
  mechlens::tiny::write_tiny_phi4mm(out, o);
  std::cout << out << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::cout << kUsage;
      return 0;
    }
    if (argc < 3) {
      std::cerr << kUsage;
      return 2;
    }
    const std::string family = argv[1], out = argv[2];
    if (family == "qwen2" || family == "llava_onevision") return write_decoder_family(family, out, argc, argv);
    if (family == "phi4mm") return write_phi4mm(out, argc, argv);
    if (family != "bert") mechlens::fail("family", "'" + family + "' is not known (bert, qwen2, llava_onevision, phi4mm)");
    mechlens::tiny::TinyBertOptions o;
    for (int i = 3; i < argc; ++i) {
      const std::string flag = argv[i];
      const auto value = [&]() -> std::string {
        if (i + 1 >= argc) mechlens::fail(flag, "needs a value");
        return argv[++i];
      };
      if (flag == "--bert-base") o = mechlens::tiny::TinyBertOptions::bert_base_shaped();
      else if (flag == "--layers") o.layers = to_int(flag, value());
      else if (flag == "--heads") o.heads = to_int(flag, value());
      else if (flag == "--d-model") o.d_model = to_int(flag, value());
      else if (flag == "--d-ff") o.d_ff = to_int(flag, value());
      else if (flag == "--positions") o.max_positions = to_int(flag, value());
      else if (flag == "--vocab-size") o.vocab_size = to_int(flag, value());
      else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(to_int(flag, value()));
      else if (flag == "--shards") o.shards = to_int(flag, value());
      else if (flag == "--dtype") o.dtype = value();
      else if (flag == "--hidden-act") o.hidden_act = value();
      else if (flag == "--no-mlm-head") o.with_mlm_head = false;
      else if (flag == "--untied-decoder") o.untied_decoder = true;
      else if (flag == "--bare") o.bare_model_prefix = true;
      else if (flag == "--gamma-beta") o.gamma_beta_names = true;
      else mechlens::fail(flag, "unknown option\n" + std::string(kUsage));
    }
    mechlens::tiny::write_tiny_bert(out, o);
    std::cout << out << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mechlens-make-tiny: " << e.what() << "\n";
    return 1;
  }
}
