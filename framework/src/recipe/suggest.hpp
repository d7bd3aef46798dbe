#pragma once
// "did you mean 'dtype'?" for a misspelt key.
#include <string>
#include <vector>

namespace mechlens::recipe::detail {

// The candidate closest to `word` (optimal string alignment distance, so a
// swapped pair of letters counts once), or "" when none is close enough.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace mechlens::recipe::detail
