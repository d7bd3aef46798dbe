#pragma once
// GPT-2's byte-level alphabet: every byte is spelled as one printable Unicode
// character, so a byte-level BPE vocabulary never needs an unknown token.
// Printable ASCII and most of Latin-1 stand for themselves; the other 68
// bytes map to U+0100 upwards in byte order (openai/gpt-2 src/encoder.py,
// bytes_to_unicode; the same table as tokenizers' pre_tokenizers/byte_level.rs).
#include <array>
#include <string>
#include <string_view>

namespace mechlens::tokenize {

// UTF-8 spelling of the character that stands for each byte.
const std::array<std::string, 256>& byte_level_alphabet();

// Each byte of `bytes` replaced by its character.
std::string to_byte_level(std::string_view bytes);

// The bytes a byte-level token stands for; false (and `out` unspecified) when
// a character of `token` is not in the alphabet (an added token such as
// "<｜User｜>" is then decoded as its own UTF-8, as tokenizers does).
bool from_byte_level(std::string_view token, std::string& out);

// `bytes` as valid UTF-8: each maximal ill-formed subsequence becomes U+FFFD,
// as Rust's String::from_utf8_lossy does (tokenizers' ByteLevel decoder).
std::string utf8_lossy(std::string_view bytes);

// Length of the valid UTF-8 prefix of `text` (== text.size() when valid).
std::size_t valid_utf8_prefix(std::string_view text);

}  // namespace mechlens::tokenize
