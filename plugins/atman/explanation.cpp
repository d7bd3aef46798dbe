#include "explanation.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"

namespace atman {

using namespace mechlens;

namespace {

std::string where(const EncodedInput& input) { return "atman: input '" + input.spec.id + "'"; }

// Appends target tokens to the prompt as text (teacher forcing).
void append(EncodedInput& seq, const Model& model, const std::vector<std::int64_t>& ids) {
  for (std::int64_t id : ids) {
    seq.ids.push_back(id);
    seq.tokens.push_back(model.token_string(id));
    seq.annotations.push_back(TokenAnnotation{Modality::text});
  }
  seq.answer_position = static_cast<std::int64_t>(seq.ids.size()) - 1;
}

// The model's greedy continuation of `prompt`, `n` tokens (full forwards, no cache).
std::vector<std::int64_t> greedy(const Model& model, const EncodedInput& prompt, std::int64_t n) {
  EncodedInput seq = prompt;
  std::vector<std::int64_t> out;
  at::NoGradGuard no_grad;
  for (std::int64_t i = 0; i < n; ++i) {
    const Batch b = model.make_batch({&seq});
    const at::Tensor last = at::tensor({static_cast<std::int64_t>(seq.ids.size()) - 1}, at::kLong);
    const std::int64_t next = model.forward(b, nullptr, last)[0][0].argmax().item<std::int64_t>();
    out.push_back(next);
    append(seq, model, {next});
  }
  return out;
}

bool wants_expected(const EncodedInput& input, const Settings& s) {
  if (s.target == "expected") {
    if (input.spec.expected.empty()) fail(where(input), "target = \"expected\" but the input has no expected text");
    return true;
  }
  return s.target == "auto" && !input.spec.expected.empty();
}

std::vector<std::int64_t> explained_positions(const EncodedInput& seq, std::int64_t end, const std::string& which) {
  std::vector<std::int64_t> out;
  for (std::int64_t t = 0; t < end; ++t) {
    const TokenAnnotation& a = seq.annotations.at(static_cast<std::size_t>(t));
    if (which == "image" && (a.modality != Modality::image || a.separator)) continue;
    if (which == "text" && a.modality != Modality::text) continue;
    out.push_back(t);
  }
  return out;
}

}  // namespace

Explanation explain(RunContext& ctx, const EncodedInput& input, const Settings& s) {
  const Model& model = ctx.model;
  const Geometry g = model.geometry();
  Explanation e;
  e.sequence = input;
  const bool expected = wants_expected(input, s);
  e.target_source = expected ? "expected" : "model";
  if (g.causal) {
    // Decoders: the target follows the prompt, teacher-forced; token i of it
    // is read at the position before it.
    const auto prompt_len = static_cast<std::int64_t>(input.ids.size());
    if (input.answer_position >= 0 && input.answer_position != prompt_len - 1)
      ctx.log.warn(where(input) + ": the target is appended after the prompt's last token, not at answer_position " +
                   std::to_string(input.answer_position));
    if (expected) {
      e.target_ids = model.encode_raw(input.spec.expected).ids;
      if (e.target_ids.empty()) fail(where(input), "expected text '" + input.spec.expected + "' has no tokens");
    } else {
      e.target_ids = greedy(model, input, s.answer_tokens);
      e.generation_forwards = s.answer_tokens;
    }
    append(e.sequence, model, e.target_ids);
    for (std::size_t i = 0; i < e.target_ids.size(); ++i)
      e.target_positions.push_back(prompt_len - 1 + static_cast<std::int64_t>(i));
    // Prompt and target except the target's last token (the authors' code).
    e.explained = explained_positions(e.sequence, static_cast<std::int64_t>(e.sequence.ids.size()) - 1, s.explain);
  } else {
    // Encoders (BERT MLM): one token read at the answer position, every position explained.
    if (input.answer_position < 0) fail(where(input), "no answer position (BERT needs one [MASK])");
    if (expected) {
      const auto ids = model.encode_raw(input.spec.expected).ids;
      if (ids.empty()) fail(where(input), "expected text '" + input.spec.expected + "' has no tokens");
      if (ids.size() > 1)
        ctx.log.warn(where(input) + ": expected '" + input.spec.expected + "' is " + std::to_string(ids.size()) +
                     " tokens; a bidirectional model reads one at the answer position, the first");
      e.target_ids = {ids[0]};
    } else {
      const Batch b = model.make_batch({&input});
      at::NoGradGuard no_grad;
      e.target_ids = {model.forward(b, nullptr, at::tensor({input.answer_position}, at::kLong))[0][0]
                          .argmax()
                          .item<std::int64_t>()};
      e.generation_forwards = 1;
    }
    e.target_positions = {input.answer_position};
    e.explained = explained_positions(e.sequence, static_cast<std::int64_t>(e.sequence.ids.size()), s.explain);
  }
  if (e.explained.empty()) fail(where(input), "no " + s.explain + " tokens to explain");

  at::NoGradGuard no_grad;
  const Batch single = model.make_batch({&e.sequence});
  const at::Tensor embeds = model.embed(single, nullptr);  // residual entering block 0, batch 1
  const at::Tensor positions = at::tensor(e.target_positions, at::kLong);
  const at::Tensor ids = at::tensor(e.target_ids, at::kLong);
  // The LM input embeddings (for decoders the residual entering block 0;
  // BERT's carries position and type embeddings too).
  const at::Tensor factors = suppression_factors(embeds[0], e.explained, s.factor, s.conceptual, s.kappa);
  // Prefix reuse: the clean forward keeps its keys/values (causal models
  // only), and each chunk of suppressed rows runs from its first suppressed key.
  const bool reuse = s.prefix_reuse && g.causal && model.reuses_prefix();
  KeyValueCache clean_kv;
  e.clean_ce = clean_cross_entropy(model, single, embeds, positions, ids, reuse ? &clean_kv : nullptr);
  const at::Tensor suppressed = suppressed_cross_entropy(model, single, embeds, factors, s.layers, positions, ids,
                                                         s.max_batch, reuse ? &clean_kv : nullptr, e.clean_ce);
  e.score = e.clean_ce.unsqueeze(0) - suppressed;
  e.relevance = s.aggregate == "squared_sum" ? e.score.pow(2).sum(1) : e.score.sum(1);

  // Cost in forward-equivalents: the clean forward, the suppressed rows
  // (rows x run positions / T per forward), the generation.
  const double fixed = 1.0 + static_cast<double>(e.generation_forwards);
  e.forwards_no_reuse = fixed + suppression_forwards(factors, positions, s.max_batch, false);
  e.forwards_prefix_reuse =
      g.causal ? fixed + suppression_forwards(factors, positions, s.max_batch, true) : e.forwards_no_reuse;
  e.forwards = reuse ? e.forwards_prefix_reuse : e.forwards_no_reuse;
  return e;
}

}  // namespace atman
