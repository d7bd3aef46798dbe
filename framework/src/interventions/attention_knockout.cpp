// Attention knockout as blocks.L.attn.hook_attn_mask write hooks, one edge
// set per batch row (attention.cpp treats a cleared entry exactly like a
// masked key: the score gets the dtype's lowest value, the weight is then
// set to exactly 0, on the boolean path every adapter uses with this hook).
#include <ATen/ATen.h>

#include <map>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"

namespace mechlens {

namespace {

struct Edges {
  std::int64_t row;
  at::Tensor queries, keys;  // int64
};

}  // namespace

void add_attention_knockout(HookSet& hooks, const Geometry& geometry, const std::vector<std::optional<KnockoutRow>>& rows) {
  std::map<int, std::vector<Edges>> by_layer;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    if (!rows[b] || rows[b]->queries.empty() || rows[b]->keys.empty()) continue;
    const KnockoutRow& r = *rows[b];
    if (r.first_layer < 0 || r.last_layer >= geometry.n_layers || r.first_layer > r.last_layer)
      fail("attention knockout", "layers " + std::to_string(r.first_layer) + ".." + std::to_string(r.last_layer) +
                                     " are not a window of the model's " + std::to_string(geometry.n_layers) + " layers");
    for (int l = r.first_layer; l <= r.last_layer; ++l)
      by_layer[l].push_back({static_cast<std::int64_t>(b), at::tensor(r.queries, at::kLong), at::tensor(r.keys, at::kLong)});
  }
  const auto n_rows = static_cast<std::int64_t>(rows.size());
  for (const auto& [layer, edges] : by_layer) {
    hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_attn_mask",
                    [n_rows, edges = edges](const std::string& name, const at::Tensor& value) {
                      // value: [B, H, Tq, Tk] bool, often an expanded view: materialise.
                      if (value.size(0) != n_rows && value.size(0) != 1)
                        fail(name, "knockout for " + std::to_string(n_rows) + " rows met a batch of " +
                                       std::to_string(value.size(0)));
                      std::vector<std::int64_t> shape = value.sizes().vec();
                      shape[0] = n_rows;
                      at::Tensor mask = value.expand(shape).contiguous();
                      const auto Tq = mask.size(2), Tk = mask.size(3);
                      for (const Edges& e : edges) {
                        if (e.queries.max().item<std::int64_t>() >= Tq || e.keys.max().item<std::int64_t>() >= Tk ||
                            e.queries.min().item<std::int64_t>() < 0 || e.keys.min().item<std::int64_t>() < 0)
                          fail(name, "knockout edge outside the " + std::to_string(Tq) + " x " + std::to_string(Tk) +
                                         " attention of this forward");
                        const at::Tensor q = e.queries.to(mask.device()).unsqueeze(1), k = e.keys.to(mask.device()).unsqueeze(0);
                        at::Tensor row = mask[e.row];  // [H, Tq, Tk], a view
                        for (std::int64_t h = 0; h < row.size(0); ++h) row[h].index_put_({q, k}, false);
                      }
                      return mask;
                    });
  }
}

}  // namespace mechlens
