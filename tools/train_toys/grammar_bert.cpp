#include "grammar_bert.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "adamw.hpp"
#include "agreement_grammar.hpp"
#include "bert_parameters.hpp"
#include "mechlens/error.hpp"
#include "models/bert/bert_model.hpp"
#include "tiny_bert.hpp"
#include "tiny_tensors.hpp"

namespace mechlens::toys {

namespace {

using models::bert::BertModel;

constexpr std::int64_t kPad = 0, kCls = 2, kSep = 3, kMask = 4;  // AgreementGrammar::vocabulary() order
constexpr std::int64_t kIgnore = -100;                            // cross_entropy_loss's ignore_index

// [CLS] words [SEP], padded: ids, the padding mask, and the MLM labels
// (the original id where a word was replaced by [MASK], else kIgnore).
struct MaskedBatch {
  Batch batch;
  at::Tensor labels;
};

MaskedBatch make_masked_batch(const std::vector<AgreementSentence>& sentences,
                              const std::vector<std::vector<bool>>& masked) {
  std::size_t longest = 0;
  for (const auto& s : sentences) longest = std::max(longest, s.ids.size());
  const auto B = static_cast<std::int64_t>(sentences.size()), T = static_cast<std::int64_t>(longest) + 2;
  at::Tensor ids = at::full({B, T}, kPad, at::kLong), keep = at::zeros({B, T}, at::kBool);
  at::Tensor labels = at::full({B, T}, kIgnore, at::kLong);
  auto id = ids.accessor<std::int64_t, 2>();
  auto label = labels.accessor<std::int64_t, 2>();
  auto real = keep.accessor<bool, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& s = sentences[b];
    const auto n = static_cast<std::int64_t>(s.ids.size());
    id[b][0] = kCls, id[b][n + 1] = kSep;
    for (std::int64_t i = 0; i < n; ++i) {
      if (masked[b][i]) id[b][i + 1] = kMask, label[b][i + 1] = s.ids[i];
      else id[b][i + 1] = s.ids[i];
    }
    for (std::int64_t i = 0; i < n + 2; ++i) real[b][i] = true;
  }
  MaskedBatch out;
  out.batch.ids = ids;
  out.batch.attention_mask = keep;
  out.labels = labels;
  return out;
}

// Held-out sentences with only the verb masked.
MaskedBatch verb_masked(const std::vector<AgreementSentence>& sentences) {
  std::vector<std::vector<bool>> masked;
  for (const auto& s : sentences) {
    masked.emplace_back(s.ids.size(), false);
    masked.back()[s.verb] = true;
  }
  return make_masked_batch(sentences, masked);
}

struct Evaluation {
  double top1 = 0;                 // argmax at the [MASK] is the exact verb
  double agreement = 0;            // the right form outscores the other form of the same verb (Goldberg 2019)
  double agreement_attractor = 0;  // ... on sentences whose noun nearest the verb has the other number
  at::Tensor to_subject;           // [layers, heads] mean attention [MASK] → subject noun
  at::Tensor to_distractor;        // [layers, heads] mean attention [MASK] → nearest distractor noun
  at::Tensor to_next;              // [layers, heads] mean attention [MASK] → the adverb after it
};

HookSet zero_head(int layer, int head) {
  HookSet hooks;
  hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_z", [head](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.clone();
    out.select(2, head).zero_();
    return out;
  });
  return hooks;
}

Evaluation evaluate(const BertModel& model, const AgreementGrammar& g, const std::vector<AgreementSentence>& sentences,
                    const HookSet* extra = nullptr) {
  at::NoGradGuard no_grad;
  const MaskedBatch mb = verb_masked(sentences);
  const auto B = static_cast<std::int64_t>(sentences.size());
  HookSet hooks;
  std::vector<at::Tensor> patterns(model.config().num_layers);
  hooks.add_read("blocks.*.attn.hook_pattern", [&](const std::string& name, const at::Tensor& p) {
    patterns[std::stoi(name.substr(7))] = p;
  });
  std::vector<std::int64_t> verb_pos, subject_pos, correct, wrong;
  const auto vocab = g.vocabulary();
  const auto id_of = [&](const std::string& w) { return std::find(vocab.begin(), vocab.end(), w) - vocab.begin(); };
  for (const auto& s : sentences) {
    verb_pos.push_back(s.verb + 1), subject_pos.push_back(s.subject + 1);
    const auto& v = g.verbs[s.lemma];
    correct.push_back(id_of(s.plural ? v.plural : v.singular));
    wrong.push_back(id_of(s.plural ? v.singular : v.plural));
  }
  const at::Tensor rows = at::arange(B, at::kLong), verb = at::tensor(verb_pos, at::kLong);
  const at::Tensor residual = model.run_blocks(model.embed(mb.batch, extra), mb.batch, 0, model.config().num_layers,
                                               extra ? extra : &hooks);
  const at::Tensor logits = model.unembed(residual.index({rows, verb}), nullptr);  // [B, V]
  const at::Tensor right = at::tensor(correct, at::kLong), other = at::tensor(wrong, at::kLong);
  const at::Tensor agrees = logits.index({rows, right}).gt(logits.index({rows, other}));
  Evaluation e;
  e.top1 = logits.argmax(-1).eq(right).to(at::kDouble).mean().item<double>();
  e.agreement = agrees.to(at::kDouble).mean().item<double>();
  std::vector<std::int64_t> attracted;
  for (std::int64_t b = 0; b < B; ++b)
    if (sentences[b].attractor) attracted.push_back(b);
  e.agreement_attractor = agrees.index_select(0, at::tensor(attracted, at::kLong)).to(at::kDouble).mean().item<double>();
  if (extra) return e;

  std::vector<std::int64_t> with_distractor, distractor_pos;
  for (std::int64_t b = 0; b < B; ++b)
    if (!sentences[b].distractors.empty()) with_distractor.push_back(b), distractor_pos.push_back(sentences[b].distractors.back() + 1);
  const at::Tensor wd = at::tensor(with_distractor, at::kLong);
  std::vector<at::Tensor> subj, dist, next;
  for (const auto& p : patterns) {  // [B, H, T, T]
    const at::Tensor from_verb = p.permute({0, 2, 3, 1}).index({rows, verb});  // [B, T, H]
    subj.push_back(from_verb.index({rows, at::tensor(subject_pos, at::kLong)}).mean(0));
    next.push_back(from_verb.index({rows, verb + 1}).mean(0));
    dist.push_back(from_verb.index_select(0, wd).index({at::arange(wd.size(0), at::kLong), at::tensor(distractor_pos, at::kLong)}).mean(0));
  }
  e.to_subject = at::stack(subj);
  e.to_distractor = at::stack(dist);
  e.to_next = at::stack(next);
  return e;
}

std::vector<AgreementSentence> sentences(const AgreementGrammar& g, std::mt19937_64& rng, int count) {
  std::vector<AgreementSentence> out;
  for (int i = 0; i < count; ++i) out.push_back(sample_sentence(g, rng));
  return out;
}

// BERT-style masking: the verb with probability `verb_mask`, every other word
// with `token_mask`; the subject stays visible when the verb is masked, so the
// verb's number is always recoverable from the sentence.
std::vector<std::vector<bool>> draw_masks(const std::vector<AgreementSentence>& batch, const GrammarBertOptions& o,
                                          std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<bool>> masked;
  for (const auto& s : batch) {
    std::vector<bool> m(s.ids.size(), false);
    m[s.verb] = u(rng) < o.verb_mask;
    for (std::size_t i = 0; i < m.size(); ++i)
      if (static_cast<int>(i) != s.verb && !(m[s.verb] && static_cast<int>(i) == s.subject)) m[i] = u(rng) < o.token_mask;
    masked.push_back(std::move(m));
  }
  return masked;
}

nlohmann::json layer_head(int flat, int heads) { return {{"layer", flat / heads}, {"head", flat % heads}}; }

}  // namespace

void train_grammar_bert(const std::string& directory, const GrammarBertOptions& o) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  // The tensors are tiny: a second intra-op thread only adds OpenMP
  // spin-waits (measured on the shared 2-core machine: 100 steps took 93 s
  // with 2 threads, 9 s with OMP_WAIT_POLICY=passive).
  at::set_num_threads(1);
  at::manual_seed(o.seed);
  std::mt19937_64 rng(o.seed);
  const AgreementGrammar grammar = AgreementGrammar::standard();

  tiny::TinyBertOptions shape;
  shape.layers = 2, shape.heads = 4, shape.d_model = 64, shape.d_ff = 128, shape.max_positions = 32;
  shape.vocab = grammar.vocabulary();
  shape.with_pooler = false, shape.seed = o.seed;
  tiny::write_tiny_bert(directory, shape);  // random init, vocab.txt, config, in HF layout

  std::unique_ptr<BertModel> model = BertModel::load({directory, "float32", "cpu"});
  // Every word of the grammar must be one WordPiece token with its own id.
  const auto vocab = grammar.vocabulary();
  for (std::size_t i = 5; i < vocab.size(); ++i) {
    const auto ids = model->encode_raw(vocab[i]).ids;
    if (ids.size() != 1 || ids[0] != static_cast<std::int64_t>(i))
      fail(directory + "/vocab.txt", "word '" + vocab[i] + "' is not the single token " + std::to_string(i));
  }
  models::bert::BertWeights& weights = model->mutable_weights();
  make_trainable(weights);

  std::vector<at::Tensor> params;
  for (auto& [name, t] : named_parameters(weights)) params.push_back(*t);
  AdamW opt(params, o.lr);
  const int L = shape.layers, H = shape.heads;
  for (int step = 1; step <= o.steps; ++step) {
    // Warm-up, then linear decay to a tenth.
    opt.set_lr(o.lr * std::min(step / 100.0, 1.0 - 0.9 * step / o.steps));
    const std::vector<AgreementSentence> batch = sentences(grammar, rng, o.batch);
    const MaskedBatch mb = make_masked_batch(batch, draw_masks(batch, o, rng));
    const at::Tensor residual = model->run_blocks(model->embed(mb.batch, nullptr), mb.batch, 0, L, nullptr);
    // The MLM head on the masked positions only.
    const at::Tensor flat_labels = mb.labels.view(-1);
    const at::Tensor at_mask = flat_labels.ne(kIgnore).nonzero().squeeze(1);
    const at::Tensor logits = model->unembed(residual.view({-1, shape.d_model}).index_select(0, at_mask), nullptr);
    at::Tensor loss = at::cross_entropy_loss(logits, flat_labels.index_select(0, at_mask));
    const at::Tensor task_loss = loss.detach();
    // Group lasso on each head's slice of the attention output: heads the task
    // does not need switch off, so agreement lands in as few heads as it can.
    for (auto& layer : weights.layers)
      loss = loss + o.head_sparsity * layer.attn_out.weight.view({shape.d_model, H, -1}).pow(2).sum(at::IntArrayRef{0, 2}).add(1e-12).sqrt().sum();
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 250 == 0 || step == 1) std::cerr << "grammar bert: step " << step << " loss " << task_loss.item<double>() << "\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Held-out sentences from another seed.
  std::mt19937_64 held_rng(o.seed + 1000);
  const std::vector<AgreementSentence> held = sentences(grammar, held_rng, 1000);
  const Evaluation e = evaluate(*model, grammar, held);

  nlohmann::json heads = nlohmann::json::array();
  std::vector<double> zeroed;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      const HookSet ablate = zero_head(l, h);
      const Evaluation a = evaluate(*model, grammar, held, &ablate);
      zeroed.push_back(a.agreement);
      heads.push_back({{"layer", l},
                       {"head", h},
                       {"attention_to_subject", e.to_subject[l][h].item<double>()},
                       {"attention_to_nearest_distractor", e.to_distractor[l][h].item<double>()},
                       {"attention_to_next", e.to_next[l][h].item<double>()},
                       {"agreement_accuracy_when_zeroed", a.agreement},
                       {"top1_accuracy_when_zeroed", a.top1}});
    }
  const int by_attention = static_cast<int>(e.to_subject.argmax().item<std::int64_t>());
  const int by_ablation = static_cast<int>(std::min_element(zeroed.begin(), zeroed.end()) - zeroed.begin());
  const int by_next = static_cast<int>(e.to_next.argmax().item<std::int64_t>());
  if (by_attention != by_ablation)
    std::cerr << "grammar bert: warning: the head attending most to the subject (L" << by_attention / H << "H" << by_attention % H
              << ") is not the one whose zeroing hurts agreement most (L" << by_ablation / H << "H" << by_ablation % H << ")\n";

  // Weights back into the checkpoint, in the same layout.
  tiny::TensorWriter out(o.seed, "float32");
  for (auto& [name, t] : checkpoint_tensors(weights)) out.put(name, t);
  model.reset();  // let go of the mapping of the random checkpoint before replacing it
  out.write(directory);

  const nlohmann::json record = {
      {"task", "masked-language modelling on the agreement grammar; the masked verb agrees in number with the subject "
               "noun across prepositional distractors, and its lemma is fixed by the adverb after it"},
      {"grammar", grammar.to_json()},
      {"agreement_head", layer_head(by_ablation, H)},
      {"agreement_head_by_attention", layer_head(by_attention, H)},
      {"next_token_head", layer_head(by_next, H)},
      {"heads", heads},
      {"held_out",
       {{"sentences", held.size()},
        {"seed", o.seed + 1000},
        {"top1_accuracy", e.top1},
        {"agreement_accuracy", e.agreement},
        {"agreement_accuracy_with_attractor", e.agreement_attractor}}},
      {"training",
       {{"steps", o.steps}, {"batch", o.batch}, {"lr", o.lr}, {"verb_mask", o.verb_mask}, {"token_mask", o.token_mask},
        {"head_sparsity", o.head_sparsity}, {"seed", o.seed}, {"seconds", seconds}}},
  };
  tiny::write_text_file((fs::path(directory) / "mechanisms.json").string(), record.dump(2) + "\n");
  std::cerr << "grammar bert: held-out top-1 " << e.top1 << ", agreement " << e.agreement << " (with attractor "
            << e.agreement_attractor << "), agreement head L" << by_ablation / H << "H" << by_ablation % H
            << " (by attention L" << by_attention / H << "H" << by_attention % H << "), " << seconds << " s\n";
}

}  // namespace mechlens::toys
