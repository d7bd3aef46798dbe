// model.dtype → tensor dtype, shared by every adapter: the spellings the
// recipe accepts, float16 only where the adapter allows it, and errors
// naming the key, the adapter and what it accepts.
#include <gtest/gtest.h>

#include <string>

#include "mechlens/error.hpp"
#include "models/model_dtype.hpp"

namespace mechlens {
namespace {

TEST(ModelDtype, SpellingsAndFloat16OnlyWhereAllowed) {
  EXPECT_EQ(models::parse_model_dtype("fp32", "qwen2", true), c10::kFloat);
  EXPECT_EQ(models::parse_model_dtype("bfloat16", "bert", false), c10::kBFloat16);
  EXPECT_EQ(models::parse_model_dtype("float64", "bert", false), c10::kDouble);
  EXPECT_EQ(models::parse_model_dtype("fp16", "phi4mm", true), c10::kHalf);
  try {
    models::parse_model_dtype("float16", "bert", false);
    FAIL() << "float16 accepted for bert";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.dtype"), std::string::npos) << what;
    EXPECT_NE(what.find("'float16' is not supported for bert (float32, bfloat16, float64)"), std::string::npos) << what;
  }
  EXPECT_THROW(models::parse_model_dtype("int8", "qwen2", true), Error);
}

}  // namespace
}  // namespace mechlens
