#include "models/phi4mm/phi4mm_weights.hpp"

#include <ATen/ATen.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <set>

#include "checkpoint/mapped_file.hpp"
#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"

namespace mechlens::models::phi4mm {
namespace {

namespace fs = std::filesystem;
using checkpoint::Shape;

// The four LoRA-wrapped linears of a layer, relative to "model.layers.{i}.".
constexpr std::array<const char*, 4> kModules = {"self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj",
                                                 "mlp.down_proj"};

struct Dims {
  std::int64_t in, out;
};
Dims dims(const Phi4mmConfig& c, int module) {
  const std::int64_t D = c.hidden_size, Q = std::int64_t(c.num_heads) * c.head_dim,
                     KV = std::int64_t(c.num_kv_heads) * c.head_dim, F = c.intermediate_size;
  switch (module) {
    case 0: return {D, Q + 2 * KV};
    case 1: return {Q, D};
    case 2: return {D, 2 * F};
    default: return {F, D};
  }
}

std::string layer_name(const char* module, const std::string& suffix) {
  return std::string("model.layers.{i}.") + module + suffix;
}

// A tensor of the vision-lora/ adapter file: aliases the mapping when the
// dtype is the requested one (the full adapter is ~0.7 GB in bf16).
at::Tensor adapter_tensor(const checkpoint::SafetensorsFile& file, const checkpoint::TensorView& v, const Shape& shape,
                          const at::TensorOptions& options) {
  const std::string where = file.path() + ": tensor '" + v.name + "'";
  if (v.shape != shape) {
    std::string got, want;
    for (auto s : v.shape) got += (got.empty() ? "" : ", ") + std::to_string(s);
    for (auto s : shape) want += (want.empty() ? "" : ", ") + std::to_string(s);
    fail(where, "has shape [" + got + "], expected [" + want + "] (rank from adapter_config.json's r)");
  }
  const at::ScalarType stored = checkpoint::to_scalar_type(v.dtype);
  if (!at::isFloatingType(stored)) fail(where, "is not floating point");
  at::Tensor t;
  if (reinterpret_cast<std::uintptr_t>(v.data) % checkpoint::element_size(v.dtype) == 0) {
    auto mapping = file.mapping();
    t = at::from_blob(const_cast<std::byte*>(v.data), v.shape, [mapping](void*) mutable { mapping.reset(); },
                      at::TensorOptions().dtype(stored));
  } else {
    t = at::empty(v.shape, at::TensorOptions().dtype(stored));
    if (v.nbytes) std::memcpy(t.data_ptr(), v.data, v.nbytes);
  }
  const at::ScalarType target = c10::typeMetaToScalarType(options.dtype());
  if (target != stored || !options.device().is_cpu()) t = t.to(options.device(), target, false, true);
  return t;
}

// The native layout's vision LoRA: vision-lora/adapter_config.json + adapter_model.safetensors.
void load_native_lora(const std::string& directory, const Phi4mmConfig& c, const at::TensorOptions& options,
                      Phi4mmWeights& w) {
  const fs::path dir = fs::path(directory) / "vision-lora";
  if (!fs::exists(dir)) {
    w.lora_source = "none (no vision-lora/ folder)";
    return;
  }
  const auto config = checkpoint::Config::load((dir / "adapter_config.json").string());
  const int r = config.get<int>("r");
  const double alpha = config.get<double>("lora_alpha");
  if (r <= 0) fail(config.where("r"), "must be positive");
  const fs::path weights = dir / "adapter_model.safetensors";
  if (!fs::exists(weights)) fail(dir.string(), "has adapter_config.json but no adapter_model.safetensors");
  const auto file = checkpoint::SafetensorsFile::open(weights.string());
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (int l = 0; l < c.num_layers; ++l) {
    Phi4mmLayerWeights& layer = w.layers[l];
    LoraLinear* linears[4] = {&layer.qkv_proj, &layer.o_proj, &layer.gate_up_proj, &layer.down_proj};
    for (int m = 0; m < 4; ++m) {
      const Dims d = dims(c, m);
      const std::string stem = "model.layers." + std::to_string(l) + "." + kModules[m];
      for (const char* which : {"lora_A", "lora_B"}) {
        const checkpoint::TensorView* found = nullptr;
        for (const std::string& name : {stem + "." + which + ".weight", "base_model.model." + stem + "." + which + ".weight",
                                        stem + "." + which + ".vision.weight"})
          if (auto it = file.tensors().find(name); it != file.tensors().end() && !found) found = &it->second;
        if (!found) {
          missing.push_back(stem + "." + which + ".weight");
          continue;
        }
        used.insert(found->name);
        const bool is_a = std::string(which) == "lora_A";
        const at::Tensor t = adapter_tensor(file, *found, is_a ? Shape{r, d.in} : Shape{d.out, r}, options);
        (is_a ? linears[m]->a : linears[m]->b) = t;
        linears[m]->scale = alpha / r;
      }
    }
  }
  std::vector<std::string> extra;
  for (const auto& [name, view] : file.tensors())
    if (!used.count(name)) extra.push_back(name);
  if (!missing.empty() || !extra.empty()) {
    std::string what;
    const auto list = [&](const char* label, const std::vector<std::string>& names) {
      if (names.empty()) return;
      what += std::string(what.empty() ? "" : "; ") + label + " (" + std::to_string(names.size()) + "): ";
      for (std::size_t i = 0; i < names.size() && i < 8; ++i) what += (i ? ", " : "") + names[i];
      if (names.size() > 8) what += ", ...";
    };
    list("missing", missing);
    list("extra", extra);
    fail(weights.string(), "the vision LoRA does not match the decoder: " + what);
  }
  w.has_vision_lora = true;
  w.lora_r = r;
  w.lora_alpha = alpha;
  w.lora_source = "vision-lora/adapter_config.json";
}

}  // namespace

const char* to_string(Layout layout) { return layout == Layout::native ? "native" : "remote-code"; }

checkpoint::TensorTable phi4mm_decoder_table(const Phi4mmConfig& c, int lora_r) {
  checkpoint::TensorTable table("phi4mm");
  const std::int64_t D = c.hidden_size, V = c.vocab_size, n = c.num_layers;
  table.add("model.embed_tokens.weight", {V, D});
  table.add("model.layers.{i}.input_layernorm.weight", {D}).layers(n);
  table.add("model.layers.{i}.post_attention_layernorm.weight", {D}).layers(n);
  for (int m = 0; m < 4; ++m) {
    const Dims d = dims(c, m);
    // The remote layout first (its key), the native spelling second.
    table.add(layer_name(kModules[m], ".base_layer.weight"), {d.out, d.in})
        .or_named(layer_name(kModules[m], ".weight"))
        .layers(n);
    auto& a = table.add(layer_name(kModules[m], ".lora_A.vision.weight"), {lora_r, d.in}).layers(n).optional();
    if (lora_r <= 0) a.any_shape();
    auto& b = table.add(layer_name(kModules[m], ".lora_B.vision.weight"), {d.out, lora_r}).layers(n).optional();
    if (lora_r <= 0) b.any_shape();
  }
  table.add("model.norm.weight", {D});
  table.add("lm_head.weight", {V, D}).optional();
  // Speech LoRA and the audio encoder: mechlens takes no audio.
  table.ignore("model.layers.*.lora_A.speech.weight");
  table.ignore("model.layers.*.lora_B.speech.weight");
  table.ignore("model.embed_tokens_extend.audio_embed.*");
  return table;
}

Phi4mmWeights load_phi4mm_weights(const checkpoint::TensorSet& t, const Phi4mmConfig& c,
                                  const at::TensorOptions& options, LoraMode mode) {
  Phi4mmWeights w;
  const std::string qkv_key = layer_name(kModules[0], ".base_layer.weight");
  w.layout = t.spelling(qkv_key, 0) == 0 ? Layout::remote_code : Layout::native;
  w.embed_tokens = t.load("model.embed_tokens.weight", options);
  int lora_layers = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    Phi4mmLayerWeights layer;
    layer.input_layernorm = {t.load("model.layers.{i}.input_layernorm.weight", options, l), c.rms_norm_eps};
    layer.post_attention_layernorm = {t.load("model.layers.{i}.post_attention_layernorm.weight", options, l),
                                      c.rms_norm_eps};
    LoraLinear* linears[4] = {&layer.qkv_proj, &layer.o_proj, &layer.gate_up_proj, &layer.down_proj};
    for (int m = 0; m < 4; ++m) {
      const std::string base = layer_name(kModules[m], ".base_layer.weight");
      const Layout here = t.spelling(base, l) == 0 ? Layout::remote_code : Layout::native;
      if (here != w.layout)
        fail(t.checkpoint().directory(), "mixes layouts: '" + t.name(base, l) + "' next to '" + t.name(qkv_key, 0) + "'");
      linears[m]->base.weight = t.load(base, options, l);
      const std::string a = layer_name(kModules[m], ".lora_A.vision.weight"),
                        b = layer_name(kModules[m], ".lora_B.vision.weight");
      if (t.has(a, l) != t.has(b, l)) fail(t.checkpoint().directory(), "layer " + std::to_string(l) + " " + kModules[m] +
                                                                            ": lora_A.vision and lora_B.vision come in pairs");
      if (t.has(a, l)) {
        if (w.layout == Layout::native)
          fail(t.name(a, l), "a remote-code LoRA tensor in a native checkpoint (its LoRA lives in vision-lora/)");
        linears[m]->a = t.load(a, options, l);
        linears[m]->b = t.load(b, options, l);
        linears[m]->scale = c.vision_lora_r > 0 ? c.vision_lora_alpha / c.vision_lora_r : 0.0;
        ++lora_layers;
      }
    }
    w.layers.push_back(std::move(layer));
  }
  w.norm = {t.load("model.norm.weight", options), c.rms_norm_eps};
  // Tied per config or when the file has no head; a stored head under
  // tie_word_embeddings is ignored as tie_weights() overwrites it.
  if (c.tie_word_embeddings || !t.has("lm_head.weight")) {
    w.lm_head = w.embed_tokens;
    if (t.has("lm_head.weight")) t.load("lm_head.weight", at::TensorOptions());
  } else {
    w.lm_head = t.load("lm_head.weight", options);
  }

  if (w.layout == Layout::remote_code) {
    if (lora_layers > 0 && lora_layers != 4 * c.num_layers)
      fail(t.checkpoint().directory(), "the vision LoRA covers " + std::to_string(lora_layers) + " of " +
                                           std::to_string(4 * c.num_layers) + " linears (qkv, o, gate_up, down per layer)");
    if (lora_layers > 0 && c.vision_lora_r <= 0)
      fail(t.checkpoint().config().where("vision_lora"), "missing: the checkpoint has lora_*.vision tensors but no rank/alpha");
    w.has_vision_lora = lora_layers > 0;
    w.lora_r = c.vision_lora_r;
    w.lora_alpha = c.vision_lora_alpha;
    w.lora_source = w.has_vision_lora ? "config.json vision_lora" : "none (no lora_*.vision tensors)";
  } else {
    load_native_lora(t.checkpoint().directory(), c, options, w);
  }
  if (mode == LoraMode::merged)
    for (auto& layer : w.layers)
      for (LoraLinear* l : {&layer.qkv_proj, &layer.o_proj, &layer.gate_up_proj, &layer.down_proj}) l->merge();
  return w;
}

}  // namespace mechlens::models::phi4mm
