#pragma once
// The recipe's model.dtype as a tensor dtype, for every adapter.
#include <c10/core/ScalarType.h>

#include <string>

namespace mechlens::models {

// float32/fp32, bfloat16/bf16, float64/fp64, and float16/fp16 where the
// adapter allows it (the seeds ran the decoders in float16 on GPU; most CPU
// kernels of libtorch 1.13 lack it). Anything else fails naming model.dtype,
// the adapter and what it accepts.
c10::ScalarType parse_model_dtype(const std::string& name, const std::string& adapter, bool float16_allowed);

}  // namespace mechlens::models
