// Ground truth on the toy vision-language model (experiments/toy/models/shapes_vlm):
// it was trained to name the colour of the one shape in an image, and the
// route planted is through the shape's own image tokens. Through the real
// llava_onevision adapter (processor, chat template, placeholder expansion,
// annotations), on the committed held-out images (experiments/toy/data/shapes):
// the model must answer the colour questions, and replacing the object's
// image-token rows of the language model's input (hook_inputs_embeds) by the
// image's mean image-token row must cost far more accuracy than replacing as
// many random image tokens.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "models/registry.hpp"

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/shapes_vlm";
const std::string kData = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/data/shapes";

struct Prompt {
  mechlens::EncodedInput input;
  std::int64_t expected = -1;
  std::vector<std::int64_t> image_positions;   // every image token
  std::vector<std::int64_t> object_positions;  // the annotation's object cells, both crops
  std::vector<std::int64_t> background;        // image patch tokens not on the object
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class ShapesVlmToy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = mechlens::models::load("llava_onevision", {kToy, "float32", "cpu"}).release();
    annotations_ = read_json(kData + "/annotations.json");
    mechanisms_ = read_json(kToy + "/mechanisms.json");
    const int grid = annotations_["grid"].get<int>();
    const std::string space = mechanisms_["answer_spelling"].get<std::string>() == "leading space" ? " " : "";
    for (const auto& image : annotations_["images"]) {
      mechlens::InputSpec spec;
      spec.id = image["file"].get<std::string>();
      spec.text = image["questions"][0]["question"].get<std::string>();
      spec.image = kData + "/" + spec.id;
      Prompt p{model_->encode(spec), -1, {}, {}, {}};
      const auto answer = model_->encode_raw(space + image["questions"][0]["answer"].get<std::string>()).ids;
      EXPECT_EQ(answer.size(), 1u) << spec.id;
      p.expected = answer.at(0);
      const auto& ann = p.input.annotations;
      for (std::size_t i = 0; i < ann.size(); ++i) {
        if (ann[i].modality != mechlens::Modality::image) continue;
        p.image_positions.push_back(static_cast<std::int64_t>(i));
        bool object = false;
        for (const auto& cell : image["object_patches"])
          object |= ann[i].crop == cell["crop"].get<int>() && ann[i].row == cell["row"].get<int>() &&
                    ann[i].col == cell["col"].get<int>();
        if (object) p.object_positions.push_back(static_cast<std::int64_t>(i));
        else if (ann[i].col < grid) p.background.push_back(static_cast<std::int64_t>(i));  // not a newline token
      }
      EXPECT_EQ(p.object_positions.size(), image["object_patches"].size()) << spec.id;
      prompts_.push_back(std::move(p));
    }
  }
  static void TearDownTestSuite() { delete model_; }

  // The LLaVA input rows at `positions` replaced by the mean image-token row.
  static mechlens::HookSet mean_ablate(std::vector<std::int64_t> positions, std::vector<std::int64_t> image) {
    mechlens::HookSet hooks;
    hooks.add_write("hook_inputs_embeds", [positions, image](const std::string&, const at::Tensor& x) {
      at::Tensor out = x.clone();
      const at::Tensor mean = x[0].index_select(0, at::tensor(image, at::kLong)).mean(0);
      out[0].index_put_({at::tensor(positions, at::kLong)}, mean);
      return out;
    });
    return hooks;
  }

  static bool correct(const Prompt& p, const mechlens::HookSet* hooks) {
    at::NoGradGuard no_grad;
    const mechlens::Batch batch = model_->make_batch({&p.input});
    const at::Tensor last = at::tensor({p.input.answer_position}, at::kLong);
    return model_->forward(batch, hooks, last)[0][0].argmax().item<std::int64_t>() == p.expected;
  }

  static mechlens::Model* model_;
  static nlohmann::json annotations_, mechanisms_;
  static std::vector<Prompt> prompts_;
};

mechlens::Model* ShapesVlmToy::model_ = nullptr;
nlohmann::json ShapesVlmToy::annotations_, ShapesVlmToy::mechanisms_;
std::vector<Prompt> ShapesVlmToy::prompts_;

TEST_F(ShapesVlmToy, AnnotatedPatchesAreTheCellsOverlappingTheBox) {
  const int P = annotations_["patch_size"].get<int>(), grid = annotations_["grid"].get<int>();
  ASSERT_EQ(annotations_["image_size"].get<int>(), grid * P);
  for (const auto& image : annotations_["images"]) {
    const auto box = image["box"].get<std::vector<int>>();  // x0, y0, x1, y1 (exclusive)
    std::vector<std::tuple<int, int, int>> expected, listed;
    for (int crop = 0; crop < 2; ++crop)
      for (int r = 0; r < grid; ++r)
        for (int c = 0; c < grid; ++c)
          if (box[0] < (c + 1) * P && box[2] > c * P && box[1] < (r + 1) * P && box[3] > r * P)
            expected.emplace_back(crop, r, c);
    for (const auto& cell : image["object_patches"])
      listed.emplace_back(cell["crop"].get<int>(), cell["row"].get<int>(), cell["col"].get<int>());
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, expected) << image["file"];
  }
}

TEST_F(ShapesVlmToy, EachImageIsOneBaseCropAndOneTile) {
  const int grid = annotations_["grid"].get<int>();
  for (const auto& p : prompts_) {
    // Base grid^2 patches, then the tile's grid rows of (grid + 1) with the newline.
    EXPECT_EQ(p.image_positions.size(), static_cast<std::size_t>(grid * grid + grid * (grid + 1))) << p.input.spec.id;
    EXPECT_EQ(p.input.extras.at("pixel_values").size(0), 2) << p.input.spec.id;
  }
}

TEST_F(ShapesVlmToy, AnswersTheHeldOutColourQuestions) {
  int right = 0;
  for (const auto& p : prompts_) right += correct(p, nullptr);
  const double accuracy = static_cast<double>(right) / prompts_.size();
  std::cout << "[ toy VLM  ] held-out colour accuracy " << accuracy << " (" << prompts_.size() << " images)\n";
  EXPECT_GE(accuracy, 0.9);
}

TEST_F(ShapesVlmToy, AnswersTheHeldOutSideQuestions) {
  const std::string space = mechanisms_["answer_spelling"].get<std::string>() == "leading space" ? " " : "";
  int right = 0, n = 0;
  for (const auto& image : annotations_["images"]) {
    mechlens::InputSpec spec;
    spec.id = image["file"].get<std::string>();
    spec.text = image["questions"][1]["question"].get<std::string>();
    spec.image = kData + "/" + spec.id;
    Prompt p{model_->encode(spec), -1, {}, {}, {}};
    const std::string side = image["left"].get<bool>() ? "left" : "right";
    ASSERT_EQ(image["questions"][1]["answer"].get<std::string>(), side) << spec.id;
    p.expected = model_->encode_raw(space + side).ids.at(0);
    right += correct(p, nullptr), ++n;
  }
  const double accuracy = static_cast<double>(right) / n;
  std::cout << "[ toy VLM  ] held-out left/right accuracy " << accuracy << " (" << n << " images)\n";
  EXPECT_GE(accuracy, 0.9);
}

TEST_F(ShapesVlmToy, AblatingTheObjectTokensHurtsFarMoreThanRandomImageTokens) {
  std::mt19937 rng(4);
  const int draws = 5;
  double clean = 0, object = 0, random = 0;
  for (const auto& p : prompts_) {
    clean += correct(p, nullptr);
    const mechlens::HookSet obj = mean_ablate(p.object_positions, p.image_positions);
    object += correct(p, &obj);
    for (int d = 0; d < draws; ++d) {
      std::vector<std::int64_t> pick = p.background;
      std::shuffle(pick.begin(), pick.end(), rng);
      pick.resize(p.object_positions.size());
      const mechlens::HookSet rnd = mean_ablate(pick, p.image_positions);
      random += correct(p, &rnd) / static_cast<double>(draws);
    }
  }
  const double n = static_cast<double>(prompts_.size());
  clean /= n, object /= n, random /= n;
  std::cout << "[ toy VLM  ] colour accuracy: clean " << clean << ", object tokens ablated " << object
            << ", as many random image tokens ablated " << random << "\n";
  EXPECT_LE(object, 0.5) << "ablating the object's tokens should remove the colour";
  EXPECT_GE(random, clean - 0.15) << "ablating as many background tokens should barely matter";
  EXPECT_GE(random - object, 0.4);
}

}  // namespace
