// Ground truth for AtMan (seed 002) on the committed toy models:
// - shapes VLM: the colour answer is read from the shape's own image tokens
//   (tests/toys/shapes_vlm_toy_test.cpp), so over the 40 held-out images the
//   AtMan relevance of the object tokens must beat the other image tokens:
//   precision sum(xy)/sum(x), recall sum(x/max x * y)/sum(y) and average
//   precision against the annotated object patches (the paper's metrics),
//   with a clear margin over random relevance;
// - induction model: the token the induction head copies from (the first
//   occurrence of the answer) gets the highest relevance.
// Relevance x here is the increase of the target's cross-entropy when the
// token is suppressed (-score, the authors' score with its sign flipped),
// clipped at 0; the plugin's squared_sum ranks alike.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"

namespace {

using mechlens::EncodedInput;
const std::string kToys = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Prompt + target teacher-forced; the target token read at the prompt's last position.
EncodedInput with_target(const mechlens::Model& model, const EncodedInput& prompt, std::int64_t target) {
  EncodedInput seq = prompt;
  seq.ids.push_back(target);
  seq.tokens.push_back(model.token_string(target));
  seq.annotations.push_back(mechlens::TokenAnnotation{mechlens::Modality::text});
  seq.answer_position = static_cast<std::int64_t>(seq.ids.size()) - 1;
  return seq;
}

// Relevance of `explained` for the target: CE increase when suppressed (>= 0).
std::vector<double> relevance(const mechlens::Model& model, const EncodedInput& seq,
                              const std::vector<std::int64_t>& explained, bool conceptual) {
  at::NoGradGuard no_grad;
  const mechlens::Batch single = model.make_batch({&seq});
  const at::Tensor embeds = model.embed(single, nullptr);
  const auto T = static_cast<std::int64_t>(seq.ids.size());
  const at::Tensor pos = at::tensor(std::vector<std::int64_t>{T - 2}, at::kLong);
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{seq.ids.back()}, at::kLong);
  const at::Tensor factors = mechlens::suppression_factors(embeds[0], explained, 0.1, conceptual, 0.6);
  const at::Tensor clean = mechlens::clean_cross_entropy(model, single, embeds, pos, ids);
  const at::Tensor suppressed = mechlens::suppressed_cross_entropy(model, single, embeds, factors, {}, pos, ids, 64);
  const at::Tensor x = (suppressed - clean.unsqueeze(0)).sum(1).clamp_min(0);
  return std::vector<double>(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
}

struct Metrics {
  double precision = 0, recall = 0, average_precision = 0;
};

Metrics metrics(const std::vector<double>& x, const std::vector<int>& y) {
  Metrics m;
  double sx = 0, sxy = 0, sy = 0, mx = 0, rec = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sx += x[i], sxy += x[i] * y[i], sy += y[i], mx = std::max(mx, x[i]);
  for (std::size_t i = 0; i < x.size(); ++i) rec += (mx > 0 ? x[i] / mx : 0) * y[i];
  m.precision = sx > 0 ? sxy / sx : 0;
  m.recall = sy > 0 ? rec / sy : 0;
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] > x[b]; });
  double hits = 0, sum = 0;
  for (std::size_t k = 0; k < order.size(); ++k)
    if (y[order[k]]) hits += 1, sum += hits / static_cast<double>(k + 1);
  m.average_precision = sy > 0 ? sum / sy : 0;
  return m;
}

TEST(AtManToys, ShapesVlmObjectTokensCarryTheColourRelevance) {
  const auto model = mechlens::models::load("llava_onevision", {kToys + "/models/shapes_vlm", "float32", "cpu"});
  const auto annotations = read_json(kToys + "/data/shapes/annotations.json");
  const auto mechanisms = read_json(kToys + "/models/shapes_vlm/mechanisms.json");
  const std::string space = mechanisms["answer_spelling"].get<std::string>() == "leading space" ? " " : "";
  Metrics atman, random;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int n = 0;
  for (const auto& image : annotations["images"]) {
    mechlens::InputSpec spec;
    spec.id = image["file"].get<std::string>();
    spec.text = image["questions"][0]["question"].get<std::string>();
    spec.image = kToys + "/data/shapes/" + spec.id;
    const EncodedInput prompt = model->encode(spec);
    const auto answer = model->encode_raw(space + image["questions"][0]["answer"].get<std::string>()).ids;
    ASSERT_EQ(answer.size(), 1u);
    const EncodedInput seq = with_target(*model, prompt, answer[0]);
    std::vector<std::int64_t> explained;  // the image's patch tokens (no layout tokens)
    std::vector<int> y;
    for (std::size_t t = 0; t < seq.annotations.size(); ++t) {
      const auto& a = seq.annotations[t];
      if (a.modality != mechlens::Modality::image || a.separator) continue;
      explained.push_back(static_cast<std::int64_t>(t));
      int object = 0;
      for (const auto& cell : image["object_patches"])
        object |= a.crop == cell["crop"].get<int>() && a.row == cell["row"].get<int>() && a.col == cell["col"].get<int>();
      y.push_back(object);
    }
    ASSERT_EQ(std::accumulate(y.begin(), y.end(), 0), static_cast<int>(image["object_patches"].size())) << spec.id;
    const Metrics m = metrics(relevance(*model, seq, explained, true), y);
    std::vector<double> noise(y.size());
    for (double& v : noise) v = uniform(rng);
    const Metrics r = metrics(noise, y);
    atman.precision += m.precision, atman.recall += m.recall, atman.average_precision += m.average_precision;
    random.precision += r.precision, random.recall += r.recall, random.average_precision += r.average_precision;
    ++n;
  }
  ASSERT_EQ(n, 40);
  for (Metrics* m : {&atman, &random}) m->precision /= n, m->recall /= n, m->average_precision /= n;
  std::cout << "[ AtMan    ] shapes VLM colour, 40 images: precision " << atman.precision << " recall " << atman.recall
            << " mAP " << atman.average_precision << "; random relevance: precision " << random.precision << " recall "
            << random.recall << " mAP " << random.average_precision << "\n";
  EXPECT_GT(atman.average_precision, random.average_precision + 0.25);
  EXPECT_GT(atman.precision, 2.0 * random.precision);
  EXPECT_GT(atman.recall, random.recall);
}

TEST(AtManToys, InductionCopiedFromTokenIsMostRelevant) {
  const auto model = mechlens::models::load("qwen2", {kToys + "/models/induction", "float32", "cpu"});
  const auto mechanisms = read_json(kToys + "/models/induction/mechanisms.json");
  const auto words = mechanisms["words"].get<std::vector<std::string>>();
  const int n = mechanisms["half_length"].get<int>();
  std::mt19937 rng(2025);
  int top_plain = 0, top_conceptual = 0;
  const int prompts = 8;
  for (int p = 0; p < prompts; ++p) {
    std::vector<std::string> w = words;
    std::shuffle(w.begin(), w.end(), rng);
    std::string text;
    for (int i = 0; i < n; ++i) text += " " + w[i];
    for (int i = 0; i < n - 1; ++i) text += " " + w[i];
    mechlens::InputSpec spec;
    spec.text = text;
    const EncodedInput prompt = model->encode(spec);
    ASSERT_EQ(prompt.ids.size(), static_cast<std::size_t>(2 * n - 1));
    const EncodedInput seq = with_target(*model, prompt, model->encode_raw(" " + w[n - 1]).ids.at(0));
    std::vector<std::int64_t> explained(seq.ids.size() - 1);
    std::iota(explained.begin(), explained.end(), 0);
    // The induction head copies from the token after the earlier occurrence
    // of the current one: the first occurrence of the answer, position n-1.
    for (bool conceptual : {false, true}) {
      const std::vector<double> x = relevance(*model, seq, explained, conceptual);
      const auto top = std::max_element(x.begin(), x.end()) - x.begin();
      if (p < 2)
        std::cout << "[ AtMan    ] induction prompt " << p << (conceptual ? " conceptual" : " plain") << ": top " << top
                  << " (" << x[top] << "), copied-from " << n - 1 << " (" << x[n - 1] << ")\n";
      (conceptual ? top_conceptual : top_plain) += top == n - 1;
    }
  }
  EXPECT_EQ(top_plain, prompts);
  EXPECT_EQ(top_conceptual, prompts);
}

}  // namespace
