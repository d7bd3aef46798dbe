#include "models/layers/embedding.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::layers {

at::Tensor checked_embedding(const at::Tensor& table, const at::Tensor& ids, std::int64_t vocab_size,
                             const std::string& where) {
  const at::Tensor on_device = ids.to(table.device(), at::kLong);
  if (on_device.numel() > 0) {
    const auto lo = on_device.min().item<std::int64_t>(), hi = on_device.max().item<std::int64_t>();
    if (lo < 0 || hi >= vocab_size)
      fail(where, "token id " + std::to_string(lo < 0 ? lo : hi) + " outside the vocabulary of " +
                      std::to_string(vocab_size));
  }
  return at::embedding(table, on_device);
}

}  // namespace mechlens::layers
