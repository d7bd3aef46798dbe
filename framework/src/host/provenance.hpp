#pragma once
// What a run records about itself, so that an archive alone says how each
// number in it was made (layout: schemas/results.md).
#include <string>
#include <vector>

#include "host/prepare.hpp"
#include "mechlens/model.hpp"
#include "recipe/recipe.hpp"
#include "store/archive.hpp"

namespace mechlens::host {

// Recipe text and path, --set overrides, mechlens version, plugin ABI, start time.
void write_run_provenance(store::RunWriter& run, const recipe::Recipe& recipe, const std::string& started);
// Adapter, checkpoint identity (config and tensor-header hashes), geometry.
void write_model_provenance(store::RunWriter& run, const recipe::ModelSection& section, const Model& model);
// Per input: the spec as written (image path and SHA-256 of its bytes), and
// what the model saw: ids, token strings, modality, crop/row/col, answer position.
void write_inputs(store::RunWriter& run, const std::vector<EncodedInput>& inputs);
// Plugin name, version and file; the resolved parameters as TOML text and as
// one attribute each (`param.<name>`).
void write_analysis_provenance(ResultGroup& group, const PreparedAnalysis& analysis);

// The resolved parameters as TOML lines ("name = value"), sorted by name.
std::string params_toml(const ParamValues& params);
// "2025-06-01T12:34:56Z"
std::string utc_now();

}  // namespace mechlens::host
