#pragma once
// Matching tensor names: ignorable globs, and "did you mean" suggestions.
#include <optional>
#include <string>
#include <vector>

namespace mechlens::checkpoint {

// '*' matches any run of characters (including '.'), '?' exactly one.
bool glob_match(const std::string& pattern, const std::string& text);

// The candidate nearest to `name` by edit distance, if it is near enough to
// be a plausible misspelling or prefix variant (at most half of `name` edited).
std::optional<std::string> closest_name(const std::string& name,
                                        const std::vector<std::string>& candidates);

}  // namespace mechlens::checkpoint
