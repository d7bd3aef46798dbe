#pragma once
// `--set key=value` overrides, applied to the parsed recipe before it is
// validated, so a bad override is reported like a bad line (its line reads
// "--set"). Keys:
//   section.key                 experiment.seed=3, model.dtype=bfloat16
//   section.N.key               inputs.1.text="...", analysis.0.metric=kl (N from 0)
//   section.NAME.key            analysis.sens.metric=kl (NAME: the entry's select_by key,
//                               e.g. an analysis' name, which defaults to its plugin)
// The value is read as TOML (3, 0.5, true, "x", [1, 2]); a value that is not
// TOML and does not start with a quote or bracket is taken as a bare string.
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "recipe/schema.hpp"

namespace mechlens::recipe::detail {

void apply_override(toml::table& root, const std::string& assignment, const Schema& schema, const std::string& file);

}  // namespace mechlens::recipe::detail
