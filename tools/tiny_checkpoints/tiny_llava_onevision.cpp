#include "tiny_llava_onevision.hpp"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "mechlens/error.hpp"
#include "tiny_bpe.hpp"

namespace mechlens::tiny {

const std::string& llava_onevision_chat_template() {
  // chat_template.json of llava-hf/llava-onevision-qwen2-0.5b-ov-hf.
  static const std::string text =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
      "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
      "{{ '<image>' }}{% endfor %}"
      "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
      "{{ '<video>' }}{% endfor %}"
      "{# Render all text next #}{% if message['role'] != 'assistant' %}"
      "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\\n' + content['text'] }}{% endfor %}"
      "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
      "{% generation %}{{ '\\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
      "{{'<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  return text;
}

void write_tiny_llava_onevision(const std::string& directory, const TinyLlavaOptions& o) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  const fs::path dir(directory);
  fs::create_directories(dir);
  if (o.image_size % o.patch_size != 0) fail("tiny llava", "image_size must be a multiple of patch_size");
  if (o.vision_d % o.vision_heads != 0) fail("tiny llava", "vision_d must be a multiple of vision_heads");

  // Tokenizer: the real added tokens in the real order, right after the BPE vocabulary.
  const TinyBpe bpe = train_tiny_bpe(o.text.merges);
  const std::vector<AddedToken> added = {{"<|endoftext|>"}, {"<|im_start|>"}, {"<|im_end|>"}, {"<image>"}, {"<video>"}};
  const int base = static_cast<int>(bpe.vocab.size());
  const int image_token = base + 3, video_token = base + 4;
  const int tokenizer_size = base + static_cast<int>(added.size());
  // The real text vocabulary (152,000) is larger than the tokenizer (151,648); so here.
  const int vocab_size = o.text.vocab_size > 0 ? o.text.vocab_size : (tokenizer_size + 63) / 64 * 64;
  if (vocab_size < tokenizer_size) fail("tiny llava", "vocab_size smaller than the tokenizer");

  const std::string lm = o.newer_layout ? "model.language_model." : "language_model.model.";
  const std::string lm_head = o.newer_layout ? "lm_head.weight" : "language_model.lm_head.weight";
  const std::string vt = o.newer_layout ? "model.vision_tower.vision_model." : "vision_tower.vision_model.";
  const std::string mp = o.newer_layout ? "model.multi_modal_projector." : "multi_modal_projector.";
  const std::string nl = o.newer_layout ? "model.image_newline" : "image_newline";

  TensorWriter w(o.seed, o.dtype);
  add_qwen2_tensors(w, o.text, vocab_size, lm, lm_head);
  const std::int64_t Dv = o.vision_d, Fv = o.vision_ff, P = o.patch_size, G = o.image_size / o.patch_size, D = o.text.d_model;
  w.add(vt + "embeddings.patch_embedding.weight", {Dv, 3, P, P}, 1.0 / std::sqrt(3.0 * P * P));
  w.add(vt + "embeddings.patch_embedding.bias", {Dv}, 0.1);
  w.add(vt + "embeddings.position_embedding.weight", {G * G, Dv}, 0.5);
  for (int l = 0; l < o.vision_layers; ++l) {
    const std::string b = vt + "encoder.layers." + std::to_string(l) + ".";
    w.norm(b + "layer_norm1", Dv, true);
    w.linear(b + "self_attn.q_proj", Dv, Dv);
    w.linear(b + "self_attn.k_proj", Dv, Dv);
    w.linear(b + "self_attn.v_proj", Dv, Dv);
    w.linear(b + "self_attn.out_proj", Dv, Dv);
    w.norm(b + "layer_norm2", Dv, true);
    w.linear(b + "mlp.fc1", Fv, Dv);
    w.linear(b + "mlp.fc2", Dv, Fv);
  }
  if (o.with_post_layernorm) w.norm(vt + "post_layernorm", Dv, true);
  w.linear(mp + "linear_1", D, Dv);
  w.linear(mp + "linear_2", D, D);
  w.add(nl, {D}, 1.0 / std::sqrt(static_cast<double>(D)));
  w.write(directory);

  json pinpoints = json::array();
  for (int i = 1; i <= o.max_grid; ++i)
    for (int j = 1; j <= o.max_grid; ++j) pinpoints.push_back({o.image_size * i, o.image_size * j});
  json text_config = qwen2_config_json(o.text, vocab_size);
  text_config.erase("architectures");
  const json config = {
      {"architectures", {"LlavaOnevisionForConditionalGeneration"}},
      {"image_grid_pinpoints", pinpoints},
      {"image_token_index", image_token},
      {"model_type", "llava_onevision"},
      {"multimodal_projector_bias", true},
      {"projector_hidden_act", "gelu"},
      {"text_config", text_config},
      {"tie_word_embeddings", o.text.tie_word_embeddings},
      {"torch_dtype", o.dtype},
      {"transformers_version", "4.45.0.dev0"},
      {"use_image_newline_parameter", true},
      {"video_token_index", video_token},
      {"vision_aspect_ratio", "anyres_max_9"},
      {"vision_config",
       {{"hidden_act", "gelu_pytorch_tanh"},
        {"hidden_size", o.vision_d},
        {"image_size", o.image_size},
        {"intermediate_size", o.vision_ff},
        {"layer_norm_eps", 1e-6},
        {"model_type", "siglip_vision_model"},
        {"num_attention_heads", o.vision_heads},
        {"num_hidden_layers", o.vision_layers},
        {"patch_size", o.patch_size},
        {"vision_use_head", false}}},
      {"vision_feature_layer", o.feature_layer},
      {"vision_feature_select_strategy", o.select_strategy},
  };
  write_text_file((dir / "config.json").string(), config.dump(2) + "\n");

  const json preprocessor = {
      {"crop_size", {{"height", o.image_size}, {"width", o.image_size}}},
      {"do_convert_rgb", true},
      {"do_normalize", true},
      {"do_pad", true},
      {"do_rescale", true},
      {"do_resize", true},
      {"image_grid_pinpoints", pinpoints},
      {"image_mean", {0.5, 0.5, 0.5}},
      {"image_processor_type", "LlavaOnevisionImageProcessor"},
      {"image_std", {0.5, 0.5, 0.5}},
      {"processor_class", "LlavaOnevisionProcessor"},
      {"resample", 3},
      {"rescale_factor", 0.00392156862745098},
      {"size", {{"height", o.image_size}, {"width", o.image_size}}},
  };
  write_text_file((dir / "preprocessor_config.json").string(), preprocessor.dump(2) + "\n");
  const json processor = {{"image_token", "<image>"},
                          {"num_image_tokens", G * G},
                          {"processor_class", "LlavaOnevisionProcessor"},
                          {"video_token", "<video>"},
                          {"vision_feature_select_strategy", o.select_strategy}};
  write_text_file((dir / "processor_config.json").string(), processor.dump(2) + "\n");
  write_text_file((dir / "chat_template.json").string(), json({{"chat_template", llava_onevision_chat_template()}}).dump(2) + "\n");

  write_text_file((dir / "tokenizer.json").string(), tiny_tokenizer_json(bpe, added).dump(2) + "\n");
  json decoder = json::object();
  for (std::size_t i = 0; i < added.size(); ++i)
    decoder[std::to_string(base + i)] = {{"content", added[i].content}, {"lstrip", false}, {"normalized", false},
                                         {"rstrip", false},             {"single_word", false}, {"special", true}};
  const json tokenizer_config = {
      {"add_prefix_space", false},
      {"added_tokens_decoder", decoder},
      {"additional_special_tokens", {"<|im_start|>", "<|im_end|>"}},
      {"bos_token", nullptr},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", "<|im_end|>"},
      {"errors", "replace"},
      {"model_max_length", o.text.max_positions},
      {"pad_token", "<|endoftext|>"},
      {"padding_side", "left"},
      {"processor_class", "LlavaOnevisionProcessor"},
      {"split_special_tokens", false},
      {"tokenizer_class", "Qwen2Tokenizer"},
      {"unk_token", nullptr},
  };
  write_text_file((dir / "tokenizer_config.json").string(), tokenizer_config.dump(2) + "\n");
}

}  // namespace mechlens::tiny
