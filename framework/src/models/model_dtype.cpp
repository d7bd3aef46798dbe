#include "models/model_dtype.hpp"

#include "mechlens/error.hpp"

namespace mechlens::models {

c10::ScalarType parse_model_dtype(const std::string& name, const std::string& adapter, bool float16_allowed) {
  if (name == "float32" || name == "fp32") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  if (name == "float64" || name == "fp64") return c10::kDouble;
  if (float16_allowed && (name == "float16" || name == "fp16")) return c10::kHalf;
  fail("model.dtype", "'" + name + "' is not supported for " + adapter +
                          (float16_allowed ? " (float32, bfloat16, float16, float64)" : " (float32, bfloat16, float64)"));
}

}  // namespace mechlens::models
