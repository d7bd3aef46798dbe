// Ground truth on the toy BERT: it was trained with masked-language modelling
// on a grammar where a masked verb agrees in number with the subject noun
// across prepositional distractors, and its trainer recorded which head
// carries the subject's number to the [MASK] (mechanisms.json). Here fresh
// held-out sentences (drawn by this test, not by the trainer) check that the
// model agrees, that the recorded head attends from [MASK] to the subject more
// than any other head, and that zeroing it hurts agreement most.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/grammar_bert";

struct Prompt {
  mechlens::EncodedInput input;
  std::int64_t subject = -1;  // token position of the subject noun
  std::int64_t right = -1, wrong = -1;  // the verb's agreeing and non-agreeing forms
  bool attractor = false;     // a distractor noun of the other number sits right before the verb
};

class GrammarBertToy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = mechlens::models::load("bert", {kToy, "float32", "cpu"}).release();
    std::ifstream in(kToy + "/mechanisms.json");
    mechanisms_ = nlohmann::json::parse(in);
    const nlohmann::json& g = mechanisms_["grammar"];
    const auto adjectives = g["adjectives"].get<std::vector<std::string>>();
    const auto prepositions = g["prepositions"].get<std::vector<std::string>>();
    std::mt19937 rng(2024);
    const auto any = [&](const auto& list) { return list[std::uniform_int_distribution<std::size_t>(0, list.size() - 1)(rng)]; };
    const auto coin = [&] { return std::bernoulli_distribution(0.5)(rng); };
    const auto noun = [&](bool plural) { return any(g["nouns"])[plural ? "plural" : "singular"].template get<std::string>(); };
    // the (adj)* NOUN (PREP the (adj)? NOUN){1,2} [MASK] ADVERB .  — every
    // prompt has at least one distractor, half of them of the other number.
    for (int p = 0; p < 96; ++p) {
      std::vector<std::string> words = {"the"};
      for (int a = std::uniform_int_distribution<int>(0, 2)(rng); a > 0; --a) words.push_back(any(adjectives));
      const bool plural = coin();
      const auto subject = static_cast<std::int64_t>(words.size()) + 1;  // + [CLS]
      words.push_back(noun(plural));
      bool nearest = plural;
      for (int d = std::uniform_int_distribution<int>(1, 2)(rng); d > 0; --d) {
        words.push_back(any(prepositions));
        words.push_back("the");
        if (coin()) words.push_back(any(adjectives));
        nearest = coin();
        words.push_back(noun(nearest));
      }
      const nlohmann::json verb = any(g["verbs"]);
      words.push_back("[MASK]");
      words.push_back(verb["adverb"].get<std::string>());
      words.push_back(".");
      mechlens::InputSpec spec;
      for (const auto& w : words) spec.text += (spec.text.empty() ? "" : " ") + w;
      Prompt prompt{model_->encode(spec), subject, id(verb[plural ? "plural" : "singular"]), id(verb[plural ? "singular" : "plural"]),
                    nearest != plural};
      prompts_.push_back(std::move(prompt));
    }
    for (const auto& p : prompts_) inputs_.push_back(&p.input);
    batch_ = model_->make_batch(inputs_);
    std::vector<std::int64_t> at;
    for (const auto& p : prompts_) at.push_back(p.input.answer_position);
    positions_ = at::tensor(at, at::kLong).unsqueeze(1);
  }
  static void TearDownTestSuite() { delete model_; }

  static std::int64_t id(const nlohmann::json& word) {
    const auto ids = model_->encode_raw(word.get<std::string>()).ids;
    EXPECT_EQ(ids.size(), 1u) << word;
    return ids.at(0);
  }

  // [B, V] logits at each prompt's [MASK].
  static at::Tensor mask_logits(const mechlens::HookSet* hooks) {
    at::NoGradGuard no_grad;
    return model_->forward(batch_, hooks, positions_).select(1, 0);
  }
  // Fraction of prompts whose agreeing verb form outscores the other form (Goldberg 2019),
  // over all prompts or only those with an attractor.
  static double agreement(const at::Tensor& logits, bool attractors_only = false) {
    int right = 0, count = 0;
    for (std::size_t b = 0; b < prompts_.size(); ++b) {
      if (attractors_only && !prompts_[b].attractor) continue;
      ++count;
      right += logits[b][prompts_[b].right].item<float>() > logits[b][prompts_[b].wrong].item<float>();
    }
    return static_cast<double>(right) / count;
  }

  static mechlens::Model* model_;
  static nlohmann::json mechanisms_;
  static std::vector<Prompt> prompts_;
  static std::vector<const mechlens::EncodedInput*> inputs_;
  static mechlens::Batch batch_;
  static at::Tensor positions_;
};

mechlens::Model* GrammarBertToy::model_ = nullptr;
nlohmann::json GrammarBertToy::mechanisms_;
std::vector<Prompt> GrammarBertToy::prompts_;
std::vector<const mechlens::EncodedInput*> GrammarBertToy::inputs_;
mechlens::Batch GrammarBertToy::batch_;
at::Tensor GrammarBertToy::positions_;

TEST_F(GrammarBertToy, EveryWordOfTheGrammarIsOneToken) {
  std::vector<std::string> words = {"the", "."};
  const nlohmann::json& g = mechanisms_["grammar"];
  for (const auto& n : g["nouns"]) words.push_back(n["singular"]), words.push_back(n["plural"]);
  for (const auto& v : g["verbs"]) words.push_back(v["singular"]), words.push_back(v["plural"]), words.push_back(v["adverb"]);
  for (const auto* list : {"adjectives", "prepositions"})
    for (const auto& w : g[list]) words.push_back(w);
  for (const auto& w : words) {
    const auto e = model_->encode_raw(w);
    ASSERT_EQ(e.ids.size(), 1u) << w;
    EXPECT_EQ(e.tokens[0], w);
  }
  for (const auto& p : prompts_) EXPECT_EQ(p.input.tokens.at(p.input.answer_position), "[MASK]");
}

TEST_F(GrammarBertToy, MaskedVerbAgreesWithTheSubject) {
  const at::Tensor logits = mask_logits(nullptr);
  EXPECT_GE(agreement(logits), 0.95);
  // Not the nearest-noun heuristic: it agrees across an attractor of the other number too.
  EXPECT_GE(agreement(logits, true), 0.9);
  // The exact verb (lemma from the adverb, form from the subject) is the top token.
  int top1 = 0;
  for (std::size_t b = 0; b < prompts_.size(); ++b) top1 += logits[b].argmax().item<std::int64_t>() == prompts_[b].right;
  EXPECT_GE(static_cast<double>(top1) / prompts_.size(), 0.9);
  std::cout << "held-out agreement " << agreement(logits) << ", with an attractor " << agreement(logits, true)
            << ", exact verb top-1 " << static_cast<double>(top1) / prompts_.size() << "\n";
}

TEST_F(GrammarBertToy, RecordedAgreementHeadAttendsFromMaskToSubjectMost) {
  const mechlens::Geometry g = model_->geometry();
  at::Tensor to_subject = at::zeros({g.n_layers, g.n_heads}, at::kDouble);
  mechlens::HookSet hooks;
  hooks.add_read("blocks.*.attn.hook_pattern", [&](const std::string& name, const at::Tensor& pattern) {
    const int layer = std::stoi(name.substr(7));
    for (std::size_t b = 0; b < prompts_.size(); ++b)  // pattern [B, H, T, T]
      to_subject[layer] += pattern[b].select(1, prompts_[b].input.answer_position).select(1, prompts_[b].subject).to(at::kDouble) /
                           static_cast<double>(prompts_.size());
  });
  mask_logits(&hooks);
  const auto best = to_subject.argmax().item<std::int64_t>();
  EXPECT_EQ(best / g.n_heads, mechanisms_["agreement_head"]["layer"].get<int>()) << to_subject;
  EXPECT_EQ(best % g.n_heads, mechanisms_["agreement_head"]["head"].get<int>()) << to_subject;
  EXPECT_GE(to_subject.max().item<double>(), 0.3) << to_subject;
  std::cout << "mean attention [MASK] -> subject per layer (rows) and head:\n" << to_subject << "\n";
}

TEST_F(GrammarBertToy, ZeroingTheAgreementHeadHurtsAgreementMost) {
  const mechlens::Geometry g = model_->geometry();
  const double clean = agreement(mask_logits(nullptr));
  const int al = mechanisms_["agreement_head"]["layer"].get<int>();
  const int ah = mechanisms_["agreement_head"]["head"].get<int>();
  double agreement_drop = 0, worst_other = 0;
  for (int l = 0; l < g.n_layers; ++l)
    for (int h = 0; h < g.n_heads; ++h) {
      mechlens::HookSet hooks;
      mechlens::add_head_ablations(hooks, g, std::vector<std::optional<mechlens::LayerHead>>(prompts_.size(), mechlens::LayerHead{l, h}),
                                   mechlens::HeadAblation::zero);
      const double drop = clean - agreement(mask_logits(&hooks));
      std::cout << "zeroing L" << l << "H" << h << ": agreement drops by " << drop << "\n";
      if (l == al && h == ah) agreement_drop = drop;
      else worst_other = std::max(worst_other, drop);
    }
  EXPECT_GE(agreement_drop, 0.3);
  EXPECT_GE(agreement_drop, 2 * worst_other + 0.1) << "other heads' worst drop " << worst_other;
}

// The sensitivity matrix (seed 000: zero each head, relative change of the
// clean top token's probability at the [MASK]) must single out the two planted
// heads: the agreement head (the form) and the head reading the adverb after
// the [MASK] (the lemma), ahead of every other head.
TEST_F(GrammarBertToy, SensitivityMatrixFindsBothPlantedHeads) {
  const mechlens::Geometry g = model_->geometry();
  at::Tensor mean_abs = at::zeros({g.n_layers, g.n_heads}, at::kDouble);
  at::NoGradGuard no_grad;
  for (const auto& p : prompts_) {
    const mechlens::Batch single = model_->make_batch({&p.input});
    const at::Tensor mask = at::tensor({p.input.answer_position}, at::kLong);
    const mechlens::CleanRun clean = mechlens::capture_resid_pre(*model_, single, mask);
    const at::Tensor base = at::softmax(clean.logits[0][0].to(at::kDouble), -1);
    const std::int64_t top = base.argmax().item<std::int64_t>();
    for (int l = 0; l < g.n_layers; ++l) {
      const at::Tensor rows = mechlens::ablate_each_head(*model_, single, clean.resid_pre[l], l, mechlens::HeadAblation::zero, mask);
      const at::Tensor p_top = at::softmax(rows.select(1, 0).to(at::kDouble), -1).select(-1, top);
      mean_abs[l] += ((p_top - base[top]) / base[top]).abs() / static_cast<double>(prompts_.size());
    }
  }
  const auto flat = [&](const char* key) {
    return mechanisms_[key]["layer"].get<int>() * g.n_heads + mechanisms_[key]["head"].get<int>();
  };
  const at::Tensor order = mean_abs.view(-1).argsort(/*dim=*/0, /*descending=*/true);
  const std::set<std::int64_t> top_two = {order[0].item<std::int64_t>(), order[1].item<std::int64_t>()};
  EXPECT_EQ(top_two, (std::set<std::int64_t>{flat("agreement_head"), flat("next_token_head")})) << mean_abs;
  std::cout << "sensitivity (mean |relative change of p(top1)|) per layer and head:\n" << mean_abs << "\n";
}

}  // namespace
