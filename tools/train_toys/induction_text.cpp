#include "induction_text.hpp"

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "adamw.hpp"
#include "checkpoint/checkpoint.hpp"
#include "mechlens/error.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "qwen2_parameters.hpp"
#include "tiny_qwen2.hpp"
#include "tiny_tensors.hpp"

namespace mechlens::toys {

namespace {

using models::qwen2::Qwen2Decoder;

// One-token words of the tiny tokenizer ("Ġcat" = " cat"), lowest ids first.
std::vector<std::int64_t> word_tokens(const nlohmann::json& tokenizer, int count, std::vector<std::string>& words) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  for (const auto& [token, id] : tokenizer["model"]["vocab"].items()) {
    if (token.rfind("\xC4\xA0", 0) != 0 || token.size() < 4 || token.size() > 7) continue;  // "Ġ" + 2..5 letters
    const std::string word = token.substr(2);
    if (std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      found.emplace_back(id.get<std::int64_t>(), word);
  }
  std::sort(found.begin(), found.end());
  if (static_cast<int>(found.size()) < count)
    fail("train_toys", "the tiny tokenizer has only " + std::to_string(found.size()) + " one-token words");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < count; ++i) ids.push_back(found[i].first), words.push_back(found[i].second);
  return ids;
}

// [batch, 2n]: n distinct random words, then the same n again.
at::Tensor sample(const at::Tensor& vocabulary, int batch, int n, at::Generator& gen) {
  at::Tensor keys = at::rand({batch, vocabulary.size(0)}, gen);
  at::Tensor first = vocabulary.index_select(0, keys.argsort(/*dim=*/1, /*descending=*/false).narrow(1, 0, n).reshape(-1)).view({batch, n});
  return at::cat({first, first}, 1);
}

struct Evaluation {
  double accuracy = 0;
  at::Tensor previous_token;  // [layers, heads] mean attention i → i-1
  at::Tensor induction;       // [layers, heads] mean attention i → i-n+1 (second half)
};

// Accuracy on the predictable positions (second half but its first token),
// and the two attention diagnostics from hook_pattern.
Evaluation evaluate(const Qwen2Decoder& model, const at::Tensor& seqs, int n, const HookSet* extra = nullptr) {
  at::NoGradGuard no_grad;
  HookSet hooks;
  std::vector<at::Tensor> patterns(model.config().num_layers);
  hooks.add_read("blocks.*.attn.hook_pattern", [&](const std::string& name, const at::Tensor& p) {
    patterns[std::stoi(name.substr(7))] = p;
  });
  const HookSet* used = extra ? extra : &hooks;
  const at::Tensor logits = model.unembed(model.run_blocks(model.embed_tokens(seqs), {}, 0, model.config().num_layers, used), nullptr);
  const at::Tensor predicted = logits.narrow(1, n, n - 1).argmax(-1);
  const at::Tensor target = seqs.narrow(1, n + 1, n - 1);
  Evaluation e;
  e.accuracy = predicted.eq(target).to(at::kDouble).mean().item<double>();
  if (extra) return e;
  const auto T = seqs.size(1);
  std::vector<at::Tensor> prev, ind;
  const at::Tensor q = at::arange(1, T, at::kLong), q2 = at::arange(n, T, at::kLong);
  for (const auto& p : patterns) {  // [B, H, T, T]
    prev.push_back(p.index({at::indexing::Slice(), at::indexing::Slice(), q, q - 1}).mean(at::IntArrayRef{0, 2}));
    ind.push_back(p.index({at::indexing::Slice(), at::indexing::Slice(), q2, q2 - n + 1}).mean(at::IntArrayRef{0, 2}));
  }
  e.previous_token = at::stack(prev);
  e.induction = at::stack(ind);
  return e;
}

HookSet zero_head(int layer, int head) {
  HookSet hooks;
  hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_z", [head](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.clone();
    out.select(2, head).zero_();
    return out;
  });
  return hooks;
}

}  // namespace

void train_induction_model(const std::string& directory, const InductionOptions& o) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  at::manual_seed(o.seed);
  at::Generator gen = at::detail::createCPUGenerator(o.seed);

  tiny::TinyQwen2Options shape;
  shape.layers = 2, shape.heads = 4, shape.kv_heads = 2, shape.d_model = 64, shape.d_ff = 128;
  shape.merges = 300, shape.max_positions = 256, shape.seed = o.seed;
  tiny::write_tiny_qwen2(directory, shape);  // random init + tokenizer, in HF layout

  const auto ckpt = checkpoint::Checkpoint::open(directory);
  Qwen2Decoder loaded = Qwen2Decoder::load(ckpt, ckpt.config(), at::TensorOptions(at::kFloat), {"model.", {"lm_head.weight"}});
  models::qwen2::Qwen2Weights weights = loaded.weights();
  make_trainable(weights);
  Qwen2Decoder model(loaded.config(), weights);

  std::ifstream tok_file(fs::path(directory) / "tokenizer.json");
  const nlohmann::json tokenizer = nlohmann::json::parse(tok_file);
  std::vector<std::string> words;
  const at::Tensor vocabulary = at::tensor(word_tokens(tokenizer, o.n_words, words), at::kLong);

  std::vector<at::Tensor> params;
  for (auto& [name, t] : named_parameters(weights)) params.push_back(*t);
  AdamW opt(params, o.lr);
  const int n = o.half_length, L = shape.layers;
  for (int step = 1; step <= o.steps; ++step) {
    opt.set_lr(o.lr * std::min(1.0, step / 100.0));  // warm-up
    const at::Tensor seqs = sample(vocabulary, o.batch, n, gen);
    const at::Tensor logits = model.unembed(model.run_blocks(model.embed_tokens(seqs), {}, 0, L, nullptr), nullptr);
    // Loss on every next-token prediction; only the second half is learnable.
    const at::Tensor pred = logits.narrow(1, n, n - 1).reshape({-1, logits.size(-1)});
    at::Tensor loss = at::cross_entropy_loss(pred, seqs.narrow(1, n + 1, n - 1).reshape(-1));
    // Group lasso on each head's slice of o_proj: heads the task does not need
    // switch off, so the mechanism lands in as few heads as it can (one
    // induction head rather than four redundant copies).
    const at::Tensor task_loss = loss.detach();
    for (auto& layer : weights.layers)
      loss = loss + o.head_sparsity * layer.o_proj.weight.view({shape.d_model, shape.heads, -1}).pow(2).sum(at::IntArrayRef{0, 2}).add(1e-12).sqrt().sum();
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 250 == 0 || step == 1)
      std::cerr << "induction toy: step " << step << " loss " << task_loss.item<double>() << "\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Held-out sequences from another seed.
  at::Generator held_gen = at::detail::createCPUGenerator(o.seed + 1000);
  const at::Tensor held = sample(vocabulary, 512, n, held_gen);
  const Evaluation e = evaluate(model, held, n);

  nlohmann::json heads = nlohmann::json::array();
  int prev_l = 0, prev_h = 0, ind_l = 0, ind_h = 0;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < shape.heads; ++h) {
      const HookSet ablate = zero_head(l, h);
      const double acc = evaluate(model, held, n, &ablate).accuracy;
      heads.push_back({{"layer", l}, {"head", h}, {"previous_token_score", e.previous_token[l][h].item<double>()},
                       {"induction_score", e.induction[l][h].item<double>()}, {"accuracy_when_zeroed", acc}});
      if (e.previous_token[l][h].item<double>() > e.previous_token[prev_l][prev_h].item<double>()) prev_l = l, prev_h = h;
      if (e.induction[l][h].item<double>() > e.induction[ind_l][ind_h].item<double>()) ind_l = l, ind_h = h;
    }

  // Weights back into the checkpoint, in the same layout.
  tiny::TensorWriter out(o.seed, "float32");
  for (auto& [name, t] : named_parameters(weights)) out.put(name, t->detach().contiguous());
  out.write(directory);

  const nlohmann::json record = {
      {"task", "induction: n distinct random words then the same n again; predict the second half"},
      {"words", words},
      {"half_length", n},
      // A label needs real signal: a previous-token head puts most of its
      // attention on the previous token. (This toy has none: its best score,
      // 0.08, is below what uniform causal attention gives, 0.137.)
      {"previous_token_head", e.previous_token[prev_l][prev_h].item<double>() > 0.5
                                  ? nlohmann::json{{"layer", prev_l}, {"head", prev_h}}
                                  : nlohmann::json(nullptr)},
      {"induction_head", {{"layer", ind_l}, {"head", ind_h}}},
      {"heads", heads},
      {"held_out_accuracy", e.accuracy},
      {"training", {{"steps", o.steps}, {"batch", o.batch}, {"lr", o.lr}, {"head_sparsity", o.head_sparsity}, {"seed", o.seed}, {"seconds", seconds}}},
  };
  tiny::write_text_file((fs::path(directory) / "mechanisms.json").string(), record.dump(2) + "\n");
  std::cerr << "induction toy: held-out accuracy " << e.accuracy << ", previous-token head L" << prev_l << "H" << prev_h
            << ", induction head L" << ind_l << "H" << ind_h << ", " << seconds << " s\n";
}

}  // namespace mechlens::toys
