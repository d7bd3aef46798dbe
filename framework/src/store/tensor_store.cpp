#include "mechlens/tensor_store.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens {

namespace {
// Storage type for a tensor dtype: exact where HDF5 readers have the type,
// widened where they do not (bf16 has no HDF5/NumPy type; f16 is widened too
// so every float dataset reads as float32 or float64).
std::pair<at::ScalarType, ElementType> storage_for(at::ScalarType type, const std::string& name) {
  switch (type) {
    case at::kFloat: return {at::kFloat, ElementType::f32};
    case at::kBFloat16:
    case at::kHalf: return {at::kFloat, ElementType::f32};
    case at::kDouble: return {at::kDouble, ElementType::f64};
    case at::kLong: return {at::kLong, ElementType::i64};
    case at::kInt:
    case at::kShort:
    case at::kChar: return {at::kInt, ElementType::i32};
    case at::kByte:
    case at::kBool: return {at::kByte, ElementType::u8};
    default: fail("write_tensor: '" + name + "'", std::string("unsupported dtype ") + at::toString(type));
  }
}
}  // namespace

void write_tensor(ResultGroup& group, const std::string& name, const at::Tensor& tensor,
                  const std::vector<std::string>& dims) {
  if (!tensor.defined()) fail(group.path() + "/" + name, "undefined tensor");
  const auto [stored, element] = storage_for(tensor.scalar_type(), group.path() + "/" + name);
  const at::Tensor cpu = tensor.detach().to(at::kCPU).to(stored).contiguous();
  ArrayRef array;
  array.type = element;
  array.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
  array.data = cpu.data_ptr();
  group.write(name, array, dims);
}

}  // namespace mechlens
