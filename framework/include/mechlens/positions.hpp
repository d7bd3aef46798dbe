#pragma once
// Token positions named the way recipes name them, resolved on one encoded
// input: "answer" (the adapter's answer position), "last", "all", "image"
// (every visual token), "text", "special", or an index ("5", "-1": negative
// counts from the end). Shared by every plugin that takes positions.
#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens {

// The names a position spec may take besides an integer.
const std::vector<std::string>& position_names();

// Sorted, without duplicates. Errors name `where` (e.g. "logit_lens: positions"),
// the input and the bad spec; an index outside the input is an error.
std::vector<std::int64_t> select_positions(const EncodedInput& input, const std::vector<std::string>& specs,
                                           const std::string& where);

// Checks the specs' spelling without an input (for early errors).
void check_position_specs(const std::vector<std::string>& specs, const std::string& where);

}  // namespace mechlens
