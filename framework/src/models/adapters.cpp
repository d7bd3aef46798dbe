// Every model adapter, in one visible list. A new adapter adds its line here:
// the name recipes use (model.adapter), its loader, one line for
// `mechlens adapters`, and the config.json model_type values it serves
// (`adapter = "auto"`; {} = its name).
#include "models/bert/bert_model.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/phi4mm/phi4mm_model.hpp"
#include "models/qwen2/qwen2_model.hpp"
#include "models/registry.hpp"

namespace mechlens::models {
namespace {

template <class M>
std::unique_ptr<Model> load_as(const LoadOptions& options) {
  return M::load(options);
}

}  // namespace

const std::vector<AdapterEntry>& builtin_adapters() {
  static const std::vector<AdapterEntry> list = {
      {"bert", &load_as<bert::BertModel>,
       "BERT (BertForMaskedLM, or a bare BertModel without logits), WordPiece; text with [MASK]", {}},
      {"llava_onevision", &load_as<llava_onevision::LlavaOnevisionModel>,
       "LLaVA-OneVision (LlavaOnevisionForConditionalGeneration): SigLIP tower, anyres packing, Qwen2 decoder; text "
       "and images",
       {}},
      {"phi4mm", &load_as<phi4mm::Phi4mmModel>,
       "Phi-4-multimodal (remote-code Phi4MMForCausalLM and native Phi4MultimodalForCausalLM): Phi-4-mini decoder "
       "with LongRoPE and the vision LoRA (model.lora runtime | merged), o200k tokenizer; text and images, no audio",
       {"phi4mm", "phi4_multimodal"}},
      {"qwen2", &load_as<qwen2::Qwen2Model>,
       "Qwen2 decoder (Qwen2ForCausalLM), byte-level BPE from tokenizer.json; text only", {}},
  };
  return list;
}

}  // namespace mechlens::models
