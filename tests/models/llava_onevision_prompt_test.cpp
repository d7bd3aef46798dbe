// LLaVA-OneVision prompts: the adapter's chat template against the template
// text the checkpoint ships (rendered by Jinja2 as transformers does), and
// encode()'s ids and annotations on text prompts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/registry.hpp"
#include "tiny_llava_support.hpp"
#include "python_requirement.hpp"

namespace mechlens {
namespace {

using models::llava_onevision::LlavaOnevisionModel;
using testing::Scratch;

TEST(LlavaOnevisionPrompt, ChatTemplateMatchesTheCheckpointsTemplateText) {
  MECHLENS_REQUIRE_PYTHON("jinja2");
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  const std::vector<std::pair<std::string, bool>> cases = {
      {"What is shown in this image?", true}, {"What is shown in this image?", false}, {"", true},
      {" leading space and trailing  ", true}, {"two\nlines\n", false}, {"unicode: café 東京 🙂", true}};
  nlohmann::json request = nlohmann::json::array();
  for (const auto& [text, image] : cases) request.push_back({{"text", text}, {"image", image}});
  std::ofstream(scratch.path("request.json")) << request.dump();
  const std::string command = "/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/models/reference/render_chat_template.py '" +
                              scratch.path("ckpt") + "' '" + scratch.path("request.json") + "' '" +
                              scratch.path("out.json") + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream file(scratch.path("out.json"));
  const auto rendered = nlohmann::json::parse(file);
  ASSERT_EQ(rendered.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(LlavaOnevisionModel::prompt(cases[i].first, cases[i].second), rendered[i].get<std::string>()) << i;
  EXPECT_EQ(LlavaOnevisionModel::prompt("Hi", true), "<|im_start|>user <image>\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(LlavaOnevisionPrompt, TextPromptIdsAndAnnotations) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  models::LoadOptions options;
  options.path = scratch.path("ckpt");
  EXPECT_EQ(models::detect_adapter(options.path), "llava_onevision");
  const auto model = models::load("auto", options);
  InputSpec spec;
  spec.id = "q";
  spec.text = "Where is the red ball?";
  const EncodedInput in = model->encode(spec);
  const auto& llava = dynamic_cast<const LlavaOnevisionModel&>(*model);
  const auto& tok = llava.tokenizer();
  EXPECT_EQ(in.ids, tok.encode(LlavaOnevisionModel::prompt(spec.text, false)).ids);
  ASSERT_EQ(in.annotations.size(), in.ids.size());
  ASSERT_EQ(in.tokens.size(), in.ids.size());
  EXPECT_EQ(in.ids.front(), tok.id("<|im_start|>"));
  EXPECT_EQ(in.annotations.front().modality, Modality::special);
  EXPECT_EQ(in.answer_position, static_cast<std::int64_t>(in.ids.size()) - 1);
  EXPECT_EQ(in.tokens.back(), tok.token(in.ids.back()));
  // The user's words are the "text" tokens, in order.
  std::string text;
  for (std::size_t i = 0; i < in.ids.size(); ++i)
    if (in.annotations[i].modality == Modality::text) text += tok.decode({in.ids[i]});
  EXPECT_EQ(text, "\n" + spec.text);
  // The image placeholder belongs to the template; in the text it is refused.
  spec.text = "look: <image>";
  EXPECT_THROW(model->encode(spec), std::exception);
  // A forward on the encoded prompt gives finite logits at the answer position.
  spec.text = "What colour is the box?";
  const EncodedInput q = model->encode(spec);
  const at::Tensor logits = model->forward(model->make_batch({&q}), nullptr,
                                           at::tensor(std::vector<std::int64_t>{q.answer_position}, at::kLong));
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
}

TEST(Qwen2Adapter, LoadsThroughTheRegistryAndEncodesRawText) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), {});
  models::LoadOptions options;
  options.path = scratch.path("ckpt");
  EXPECT_EQ(models::detect_adapter(options.path), "qwen2");
  const auto model = models::load("qwen2", options);
  InputSpec spec;
  spec.text = "<|im_start|>The cat sat on the mat";
  const EncodedInput in = model->encode(spec);
  ASSERT_FALSE(in.ids.empty());
  EXPECT_EQ(in.annotations.front().modality, Modality::special);  // the added special token
  EXPECT_EQ(in.annotations.back().modality, Modality::text);
  const Geometry g = model->geometry();
  EXPECT_EQ(g.n_kv_heads, 2);
  EXPECT_EQ(g.n_heads, 4);
  const at::Tensor logits = model->forward(model->make_batch({&in}), nullptr);
  EXPECT_EQ(logits.size(1), static_cast<std::int64_t>(in.ids.size()));
  EXPECT_EQ(logits.size(2), g.vocab_size);
  spec.image = "/nonexistent.png";
  EXPECT_THROW(model->encode(spec), std::exception);
}

}  // namespace
}  // namespace mechlens
