// AtMan (Deiseroth et al., arXiv 2301.08110; code Aleph-Alpha/AtMan): explain
// a prediction by suppressing one input token at a time in the attention
// scores of every layer and head, one suppression per batch row.
#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <memory>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"

namespace mechlens {

void add_attention_suppression(HookSet& hooks, const Geometry& geometry, const at::Tensor& factors,
                               const std::vector<int>& layers) {
  if (factors.dim() != 2)
    fail("attention suppression", "factors must be [rows, keys], got rank " + std::to_string(factors.dim()));
  std::vector<int> chosen = layers;
  if (chosen.empty())
    for (int l = 0; l < geometry.n_layers; ++l) chosen.push_back(l);
  for (int l : chosen)
    if (l < 0 || l >= geometry.n_layers)
      fail("attention suppression", "layer " + std::to_string(l) + " outside the model's " +
                                        std::to_string(geometry.n_layers) + " layers");
  const std::int64_t rows = factors.size(0), keys = factors.size(1);
  // Rows with nothing suppressed keep the raw scores exactly (shift and x1
  // would round differently from the clean forward).
  const at::Tensor untouched = (factors.to(at::kFloat).cpu() == 1.0f).all(1).nonzero().flatten();
  const auto shared = std::make_shared<std::map<std::string, at::Tensor>>();  // factors per dtype/device
  for (int l : chosen) {
    const std::string name = "blocks." + std::to_string(l) + ".attn.hook_attn_scores_unmasked";
    hooks.add_write(name, [=](const std::string& at_name, const at::Tensor& value) {
      if (value.dim() != 4 || value.size(3) != keys)
        fail(at_name, "attention suppression expects scores [batch, head, query, " + std::to_string(keys) +
                          " keys], got " + c10::str(value.sizes()));
      if (value.size(0) != rows && value.size(0) != 1)
        fail(at_name, "attention suppression for " + std::to_string(rows) + " rows met a batch of " +
                          std::to_string(value.size(0)));
      const std::string key = std::string(c10::toString(value.scalar_type())) + value.device().str();
      at::Tensor& f = (*shared)[key];
      if (!f.defined()) f = factors.to(value.device(), value.scalar_type()).view({rows, 1, 1, keys});
      // Shift each raw row by its own minimum (over every key, masked ones
      // included), then scale each key's column by the row's factor.
      at::Tensor out = value - std::get<0>(value.min(-1, /*keepdim=*/true));
      out = value.size(0) == rows ? out.mul_(f) : out * f;
      if (untouched.numel() > 0) {
        const at::Tensor idx = untouched.to(value.device());
        const at::Tensor raw = value.size(0) == rows ? value.index_select(0, idx)
                                                     : value.expand({idx.size(0), value.size(1), value.size(2), keys});
        out.index_copy_(0, idx, raw);
      }
      return out;
    });
  }
}

at::Tensor suppression_factors(const at::Tensor& embeds, const std::vector<std::int64_t>& explained, double factor,
                               bool conceptual, double kappa) {
  if (embeds.dim() != 2) fail("suppression factors", "embeddings must be [positions, d_model]");
  const std::int64_t T = embeds.size(0);
  const auto R = static_cast<std::int64_t>(explained.size());
  at::Tensor factors = at::ones({R, T}, at::kFloat);
  if (R == 0) return factors;
  for (std::int64_t t : explained)
    if (t < 0 || t >= T)
      fail("suppression factors", "explained position " + std::to_string(t) + " outside " + std::to_string(T));
  const at::Tensor idx = at::tensor(explained, at::kLong);
  if (conceptual) {
    // Cosine of each explained token's embedding with every token's, float32.
    const at::Tensor e = embeds.detach().to(at::kCPU, at::kFloat);
    const at::Tensor unit = e / e.norm(2, -1, true).clamp_min(1e-12);
    const at::Tensor cos = at::matmul(unit.index_select(0, idx), unit.t()).clamp(-1.0, 1.0);  // [R, T]
    const at::Tensor similar = cos >= kappa;
    const at::Tensor correlated = factor + (1.0 - factor) * (1.0 - cos);
    factors = at::where(similar, correlated, factors);
  }
  // The explained token itself always gets the plain factor.
  factors.scatter_(1, idx.unsqueeze(1), static_cast<float>(factor));
  return factors;
}

namespace {

at::Tensor target_cross_entropy(const at::Tensor& logits, const at::Tensor& ids) {
  // logits [R, P, V] → -log p(ids[p]) [R, P], float64.
  const at::Tensor log_probs = at::log_softmax(logits.to(at::kDouble), -1);
  const at::Tensor index = ids.to(logits.device(), at::kLong).view({1, -1, 1}).expand({logits.size(0), ids.numel(), 1});
  return -log_probs.gather(2, index).squeeze(2).cpu();
}

void check_target(const at::Tensor& positions, const at::Tensor& ids, std::int64_t T) {
  if (positions.dim() != 1 || ids.dim() != 1 || positions.numel() != ids.numel() || positions.numel() == 0)
    fail("suppressed cross-entropy", "positions and target ids must be equal-length, non-empty 1-D lists");
  const at::Tensor p = positions.to(at::kLong);
  if (p.min().item<std::int64_t>() < 0 || p.max().item<std::int64_t>() >= T)
    fail("suppressed cross-entropy", "a target position is outside the input's " + std::to_string(T) + " tokens");
}

// One forward of the plan: these rows of `factors`, run from position `start`.
struct Chunk {
  std::vector<std::int64_t> rows;
  std::int64_t start = 0;
};

// Rows with anything suppressed, max_batch per chunk. With prefix reuse the
// rows are ordered by their first suppressed key (ties keep their order) and
// each chunk starts at its smallest one.
std::vector<Chunk> plan(const at::Tensor& factors, std::int64_t max_batch, bool prefix_reuse) {
  if (max_batch < 1) fail("suppressed cross-entropy", "max_batch must be at least 1");
  const at::Tensor edited = (factors.to(at::kFloat).cpu() != 1.0f);
  const at::Tensor active = edited.any(1);
  // First edited column per row (argmax of a bool row = its first true).
  const at::Tensor first = edited.to(at::kInt).argmax(1);
  std::vector<std::pair<std::int64_t, std::int64_t>> order;  // (first key, row)
  for (std::int64_t r = 0; r < factors.size(0); ++r)
    if (active[r].item<bool>()) order.emplace_back(prefix_reuse ? first[r].item<std::int64_t>() : 0, r);
  if (prefix_reuse)
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < order.size(); i += static_cast<std::size_t>(max_batch)) {
    Chunk c;
    const std::size_t end = std::min(order.size(), i + static_cast<std::size_t>(max_batch));
    c.start = order[i].first;  // sorted: the chunk's smallest
    for (std::size_t j = i; j < end; ++j) c.rows.push_back(order[j].second);
    chunks.push_back(std::move(c));
  }
  return chunks;
}

}  // namespace

at::Tensor clean_cross_entropy(const Model& model, const Batch& single, const at::Tensor& embeds,
                               const at::Tensor& positions, const at::Tensor& ids, KeyValueCache* record) {
  check_target(positions, ids, single.ids.size(1));
  at::NoGradGuard no_grad;
  at::Tensor logits;
  if (record && model.reuses_prefix()) {
    PrefixReuse reuse;
    reuse.record = record;
    const at::Tensor out = model.run_blocks_reusing(embeds, single, 0, model.geometry().n_layers, nullptr, reuse);
    logits = model.unembed(gather_positions(out, positions.to(at::kLong)), nullptr);
  } else {
    logits = model.forward_from(0, embeds, single, nullptr, positions.to(at::kLong));
  }
  return target_cross_entropy(logits, ids)[0];
}

double suppression_forwards(const at::Tensor& factors, const at::Tensor& positions, std::int64_t max_batch,
                            bool prefix_reuse) {
  const auto T = static_cast<double>(factors.size(1));
  const std::int64_t last_read = positions.to(at::kLong).max().item<std::int64_t>();
  double total = 0;
  for (const Chunk& c : plan(factors, max_batch, prefix_reuse)) {
    if (c.start > last_read) continue;  // no target can see the suppression: no forward
    total += static_cast<double>(c.rows.size()) * (T - static_cast<double>(c.start)) / T;
  }
  return total;
}

at::Tensor suppressed_cross_entropy(const Model& model, const Batch& single, const at::Tensor& embeds,
                                    const at::Tensor& factors, const std::vector<int>& layers,
                                    const at::Tensor& positions, const at::Tensor& ids, std::int64_t max_batch,
                                    const KeyValueCache* clean_kv, const at::Tensor& clean_ce) {
  if (single.ids.size(0) != 1 || embeds.size(0) != 1)
    fail("suppressed cross-entropy", "expects one input (batch 1)");
  const std::int64_t T = single.ids.size(1);
  check_target(positions, ids, T);
  if (factors.dim() != 2 || factors.size(1) != T)
    fail("suppressed cross-entropy", "factors must be [rows, " + std::to_string(T) + "]");
  const bool reuse = clean_kv != nullptr && model.reuses_prefix();
  const std::int64_t R = factors.size(0), P = positions.numel();
  const Geometry geometry = model.geometry();
  const at::Tensor pos = positions.to(at::kLong).cpu();
  const std::vector<Chunk> chunks = plan(factors, max_batch, reuse);
  // Rows that suppress nothing, and targets read before a chunk's first
  // suppressed key, have the clean cross-entropy, bit for bit (a batched
  // forward rounds differently).
  std::int64_t planned = 0;
  bool needs_clean = false;
  const std::int64_t first_read = pos.min().item<std::int64_t>();
  for (const Chunk& c : chunks) {
    planned += static_cast<std::int64_t>(c.rows.size());
    needs_clean = needs_clean || c.start > first_read;
  }
  at::Tensor out = at::empty({R, P}, at::kDouble);
  at::Tensor clean;
  if (planned < R || needs_clean) {
    clean = clean_ce.defined() ? clean_ce.to(at::kDouble).cpu()
                               : clean_cross_entropy(model, single, embeds, positions, ids);
    out.copy_(clean.unsqueeze(0).expand({R, P}));
  }
  at::NoGradGuard no_grad;
  const int L = geometry.n_layers;
  for (const Chunk& c : chunks) {
    const auto n = static_cast<std::int64_t>(c.rows.size());
    const at::Tensor rows = at::tensor(c.rows, at::kLong);
    // Targets this chunk's forward must read: those at or after its start.
    const at::Tensor seen = (pos >= c.start).nonzero().flatten();
    if (seen.numel() == 0) continue;
    HookSet hooks;
    add_attention_suppression(hooks, geometry, factors.index_select(0, rows.to(factors.device())), layers);
    at::Tensor logits;
    if (reuse) {
      PrefixReuse prefix;
      prefix.start = c.start;
      prefix.prefix = clean_kv;
      const at::Tensor residual = model.run_blocks_reusing(embeds.narrow(1, c.start, T - c.start), single, 0, L,
                                                           &hooks, prefix);
      logits = model.unembed(gather_positions(residual, pos.index_select(0, seen) - c.start), &hooks);
    } else {
      logits = model.forward_from(0, embeds, single, &hooks, pos.index_select(0, seen));
    }
    if (logits.size(0) != n) logits = logits.expand({n, logits.size(1), logits.size(2)});
    const at::Tensor ce = target_cross_entropy(logits, ids.to(at::kLong).cpu().index_select(0, seen));  // [n, seen]
    for (std::int64_t i = 0; i < n; ++i) out[c.rows[static_cast<std::size_t>(i)]].index_copy_(0, seen, ce[i]);
  }
  return out;
}

}  // namespace mechlens
