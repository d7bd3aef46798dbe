// Head ablations as hook_z write hooks, one ablation per batch row.
#include <ATen/ATen.h>

#include <map>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"

namespace mechlens {

HeadAblation parse_head_ablation(const std::string& name) {
  if (name == "zero") return HeadAblation::zero;
  if (name == "identity") return HeadAblation::identity;
  if (name == "mean") return HeadAblation::mean;
  fail("ablation", "unknown head ablation '" + name + "' (zero, identity, mean)");
}

const char* to_string(HeadAblation kind) {
  switch (kind) {
    case HeadAblation::zero: return "zero";
    case HeadAblation::identity: return "identity";
    case HeadAblation::mean: return "mean";
  }
  return "?";
}

namespace {

// Row b of the result is row b of `value`, or row 0 repeated when the forward
// so far ran at batch 1 (prefix reuse). Always a fresh tensor: the hook
// writes into it.
at::Tensor rows_of(const at::Tensor& value, std::int64_t rows, const std::string& name) {
  if (value.size(0) == rows) return value.clone();
  if (value.size(0) == 1) {
    std::vector<std::int64_t> shape = value.sizes().vec();
    shape[0] = rows;
    return value.expand(shape).contiguous();
  }
  fail(name, "head ablation for " + std::to_string(rows) + " rows met a batch of " + std::to_string(value.size(0)));
}

at::Tensor row_of(const at::Tensor& value, std::int64_t row) { return value.size(0) == 1 ? value[0] : value[row]; }

struct Target {
  std::int64_t row;
  int head;
};

}  // namespace

void add_head_ablations(HookSet& hooks, const Geometry& geometry, const std::vector<std::optional<LayerHead>>& rows,
                        HeadAblation kind, const at::Tensor& attention_mask) {
  std::map<int, std::vector<Target>> by_layer;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    if (!rows[b]) continue;
    const LayerHead& lh = *rows[b];
    if (lh.layer < 0 || lh.layer >= geometry.n_layers || lh.head < 0 || lh.head >= geometry.n_heads)
      fail("head ablation", "layer " + std::to_string(lh.layer) + " head " + std::to_string(lh.head) +
                                " outside the model's " + std::to_string(geometry.n_layers) + " layers x " +
                                std::to_string(geometry.n_heads) + " heads");
    by_layer[lh.layer].push_back({static_cast<std::int64_t>(b), lh.head});
  }
  const auto n_rows = static_cast<std::int64_t>(rows.size());
  const int kv_heads = geometry.n_kv_heads > 0 ? geometry.n_kv_heads : geometry.n_heads;
  const int group = geometry.n_heads / kv_heads;
  const at::Tensor mask = attention_mask.defined() ? attention_mask.to(at::kBool) : at::Tensor();

  for (const auto& [layer, targets] : by_layer) {
    const std::string prefix = "blocks." + std::to_string(layer) + ".attn.";
    // identity: z_t of head h = v_t of its KV head, i.e. a pattern equal to
    // the identity matrix. v is read as the forward makes it (often batch 1).
    auto values = std::make_shared<at::Tensor>();
    if (kind == HeadAblation::identity)
      hooks.add_read(prefix + "hook_v", [values](const std::string&, const at::Tensor& v) { *values = v; });
    hooks.add_write(prefix + "hook_z", [=, targets = targets](const std::string& name, const at::Tensor& value) {
      at::Tensor z = rows_of(value, n_rows, name);  // [R, T, H, dh]
      for (const Target& t : targets) {
        at::Tensor head = z[t.row].select(1, t.head);  // [T, dh], a view into z
        switch (kind) {
          case HeadAblation::zero:
            head.zero_();
            break;
          case HeadAblation::identity:
            if (!values->defined()) fail(name, "identity ablation: hook_v of this layer was not seen");
            head.copy_(row_of(*values, t.row).select(1, t.head / group));
            break;
          case HeadAblation::mean: {
            at::Tensor mean;
            if (mask.defined()) {
              const at::Tensor keep = row_of(mask, t.row).to(head.scalar_type()).unsqueeze(-1);  // [T, 1]
              mean = (head * keep).sum(0) / keep.sum().clamp_min(1);
            } else {
              mean = head.mean(0);
            }
            head.copy_(mean.unsqueeze(0).expand_as(head));
            break;
          }
        }
      }
      return z;
    });
  }
}

void add_head_ablations(HookSet& hooks, const Geometry& geometry, const std::vector<std::optional<LayerHead>>& rows,
                        HeadAblation kind) {
  add_head_ablations(hooks, geometry, rows, kind, at::Tensor());
}

}  // namespace mechlens
