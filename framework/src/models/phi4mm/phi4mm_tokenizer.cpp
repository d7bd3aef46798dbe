#include "models/phi4mm/phi4mm_tokenizer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>

#include "mechlens/error.hpp"

namespace mechlens::models::phi4mm {

tokenize::BytePairEncoding load_phi4mm_tokenizer(const std::string& directory) {
  const auto path = std::filesystem::path(directory) / "tokenizer.json";
  if (!std::filesystem::exists(path))
    fail(directory, "no tokenizer.json (the fast-tokenizer file; vocab.json + merges.txt alone are not read)");
  return tokenize::BytePairEncoding::from_tokenizer_json(path.string());
}

ChatTokens chat_tokens(const tokenize::BytePairEncoding& tokenizer) {
  const auto need = [&](const char* token) {
    const auto id = tokenizer.find(token);
    if (!id) fail(tokenizer.path(), std::string("has no '") + token + "' token (Phi-4's chat format needs it)");
    return *id;
  };
  ChatTokens t;
  t.user = need("<|user|>");
  t.end = need("<|end|>");
  t.assistant = need("<|assistant|>");
  if (auto id = tokenizer.find("<|endoftext10|>")) t.image = *id;
  else if (auto native = tokenizer.find("<|image|>")) t.image = *native;
  else fail(tokenizer.path(), "has neither '<|endoftext10|>' nor '<|image|>' (the image token)");
  if (auto id = tokenizer.find("<|endoftext11|>")) t.audio = *id;
  else if (auto native = tokenizer.find("<|audio|>")) t.audio = *native;
  return t;
}

std::string chat_prompt(const std::string& text) { return "<|user|>" + text + "<|end|><|assistant|>"; }

EncodedInput encode_phi4mm_text(const tokenize::BytePairEncoding& tokenizer, const std::string& text) {
  tokenize::Encoding encoding = tokenizer.encode(text);
  const ChatTokens t = chat_tokens(tokenizer);
  EncodedInput out;
  out.spec.text = text;
  out.ids = std::move(encoding.ids);
  out.tokens = std::move(encoding.tokens);
  for (std::int64_t id : out.ids)
    out.annotations.push_back({id == t.image ? Modality::image
                               : tokenizer.is_special(id) ? Modality::special
                                                          : Modality::text});
  out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

EncodedInput encode_phi4mm_chat(const tokenize::BytePairEncoding& tokenizer, const std::string& text) {
  const std::string head = "<|user|>", tail = "<|end|><|assistant|>";
  tokenize::Encoding whole = tokenizer.encode(head + text + tail);
  EncodedInput out;
  out.spec.text = text;
  out.ids = std::move(whole.ids);
  out.tokens = std::move(whole.tokens);
  // The user's text is "text" when tokenizing the parts alone gives the same
  // ids (special tokens split the text first, so it always does unless the
  // text itself holds added tokens); the template tokens are "special".
  const auto h = tokenizer.encode(head).ids, x = tokenizer.encode(text).ids, tl = tokenizer.encode(tail).ids;
  std::vector<std::int64_t> joined = h;
  joined.insert(joined.end(), x.begin(), x.end());
  joined.insert(joined.end(), tl.begin(), tl.end());
  out.annotations.assign(out.ids.size(), TokenAnnotation{Modality::special});
  const bool aligned = joined == out.ids;
  for (std::size_t i = 0; i < out.ids.size(); ++i) {
    const bool in_text = aligned ? (i >= h.size() && i < h.size() + x.size()) : !tokenizer.is_special(out.ids[i]);
    if (in_text) out.annotations[i].modality = tokenizer.is_special(out.ids[i]) ? Modality::special : Modality::text;
  }
  out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

void refuse_audio(const InputSpec& input, const ChatTokens& tokens, const tokenize::BytePairEncoding& tokenizer) {
  const std::string where = input.id.empty() ? "input" : "input '" + input.id + "'";
  static const std::regex placeholder(R"(<\|audio_\d+\|>)");
  if (std::regex_search(input.text, placeholder))
    fail(where, "has an audio placeholder (<|audio_N|>): mechlens loads neither Phi-4-mm's audio encoder nor its "
                "speech LoRA; audio inputs are not supported");
  if (tokens.audio && input.text.find(tokenizer.token(*tokens.audio)) != std::string::npos)
    fail(where, "holds the audio token '" + tokenizer.token(*tokens.audio) + "': audio inputs are not supported");
  if (input.image) {
    std::string ext = std::filesystem::path(*input.image).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    for (const char* audio : {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus"})
      if (ext == audio)
        fail(where, "gives an audio file (" + *input.image + ") as its image: audio inputs are not supported by the "
                    "phi4mm adapter");
  }
}

}  // namespace mechlens::models::phi4mm
