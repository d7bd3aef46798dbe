#pragma once
// A token-embedding lookup that names a bad id instead of letting libtorch
// index out of bounds (the decoders' embed_tokens share it).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace mechlens::layers {

// table[ids] for ids [B, T] → [B, T, D], ids moved to the table's device;
// an id outside [0, vocab_size) fails naming `where` and the id.
at::Tensor checked_embedding(const at::Tensor& table, const at::Tensor& ids, std::int64_t vocab_size,
                             const std::string& where);

}  // namespace mechlens::layers
