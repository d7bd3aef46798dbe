#pragma once
// The tokenizer of a Phi-4-multimodal checkpoint: tokenizer.json read as a
// byte-level BPE (the o200k vocabulary and split regex, no normaliser, with
// Phi's added tokens: <|endoftext|> 199999, <|endoftext10|> 200010 (image;
// "<|image|>" after the native conversion), <|endoftext11|> 200011 (audio),
// <|assistant|> 200019, <|end|> 200020, <|user|> 200021, <|system|> 200022, ...),
// and the chat format of its chat_template for one user turn with
// add_generation_prompt: "<|user|>" + content + "<|end|>" + "<|assistant|>"
// (no newlines, no BOS).
#include <optional>
#include <string>

#include "mechlens/model.hpp"
#include "tokenize/bpe.hpp"

namespace mechlens::models::phi4mm {

// DIR/tokenizer.json; the error names the directory when it is missing.
tokenize::BytePairEncoding load_phi4mm_tokenizer(const std::string& directory);

// The ids of the tokens the adapter needs; errors name tokenizer.json and the token.
struct ChatTokens {
  std::int64_t user = -1, end = -1, assistant = -1;
  std::int64_t image = -1;  // <|endoftext10|> (remote code) or <|image|> (native)
  std::optional<std::int64_t> audio;  // <|endoftext11|> or <|audio|>
};
ChatTokens chat_tokens(const tokenize::BytePairEncoding& tokenizer);

// "<|user|>" + text + "<|end|><|assistant|>".
std::string chat_prompt(const std::string& text);

// Text as encode_raw gives it (no template): annotations text / special / image.
EncodedInput encode_phi4mm_text(const tokenize::BytePairEncoding& tokenizer, const std::string& text);
// The chat prompt of a text-only input: template tokens "special", the user's
// text "text"; the answer position is the last token (<|assistant|>).
EncodedInput encode_phi4mm_chat(const tokenize::BytePairEncoding& tokenizer, const std::string& text);

// An input the adapter refuses because it is audio: an <|audio_N|> placeholder
// or the audio token in the text, or an audio file given as the image.
// Throws naming the input.
void refuse_audio(const InputSpec& input, const ChatTokens& tokens, const tokenize::BytePairEncoding& tokenizer);

}  // namespace mechlens::models::phi4mm
