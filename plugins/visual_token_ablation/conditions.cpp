#include "conditions.hpp"

namespace visual_token_ablation {

using namespace mechlens;

Plan plan_conditions(const EncodedInput& input, const PlanRequest& r) {
  Plan plan;
  std::map<std::vector<std::int64_t>, std::int64_t> seen;
  auto row_of = [&](const std::vector<std::int64_t>& positions) {
    auto [it, fresh] = seen.emplace(positions, static_cast<std::int64_t>(plan.rows.size()));
    if (fresh) plan.rows.push_back(positions);
    return it->second;
  };
  TokenSetOptions o;
  o.seed = r.seed;
  o.input_norms = r.input_norms;
  for (const std::string& set : r.sets)
    for (int d = 0; d < r.draws; ++d) {
      o.draw = d;
      o.count.reset();
      const auto positions = token_set(input, set, o, "visual_token_ablation: sets");
      plan.set_row.push_back(row_of(positions));
      plan.set_size.push_back(static_cast<std::int64_t>(positions.size()));
    }
  for (const std::string& set : r.sweep_sets)
    for (std::int64_t n : r.n)
      for (int d = 0; d < r.draws; ++d) {
        o.draw = d;
        o.count = n;
        const auto positions = token_set(input, set, o, "visual_token_ablation: sweep_sets");
        plan.sweep_row.push_back(row_of(positions));
        plan.sweep_size.push_back(static_cast<std::int64_t>(positions.size()));
      }
  return plan;
}

}  // namespace visual_token_ablation
