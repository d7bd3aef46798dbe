#pragma once
// The ablation conditions of one input: every whole set (each random draw
// its own condition) and every (sweep set, N, draw); conditions that ablate
// the same positions share one forward row.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mechlens/model.hpp"
#include "mechlens/token_sets.hpp"

namespace visual_token_ablation {

struct Plan {
  std::vector<std::vector<std::int64_t>> rows;  // unique position sets, one forward row each
  std::vector<std::int64_t> set_row;            // [set * draws + draw] → row
  std::vector<std::int64_t> sweep_row;          // [(sweep_set * n + k) * draws + draw] → row
  std::vector<std::int64_t> set_size;           // [set * draws + draw]
  std::vector<std::int64_t> sweep_size;         // as sweep_row
};

struct PlanRequest {
  std::vector<std::string> sets, sweep_sets;
  std::vector<std::int64_t> n;
  int draws = 1;
  std::uint64_t seed = 0;
  std::vector<float> input_norms;
};

Plan plan_conditions(const mechlens::EncodedInput& input, const PlanRequest& request);

}  // namespace visual_token_ablation
