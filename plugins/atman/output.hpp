#pragma once
// Writing AtMan explanations to the archive, and their pictures.
#include <vector>

#include "explanation.hpp"

namespace atman {

void write(mechlens::RunContext& ctx, const std::vector<Explanation>& all, const Settings& s);
void draw(mechlens::RunContext& ctx, const std::vector<Explanation>& all, std::int64_t max_inputs);
void report(mechlens::RunContext& ctx, const std::vector<Explanation>& all, const Settings& s);

}  // namespace atman
