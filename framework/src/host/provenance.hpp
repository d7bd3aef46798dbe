#pragma once
// What a run records about itself, so that an archive alone says how each
// number in it was made. The layout is schemas/results.md §5.2 and §6: run
// attributes, provenance/, model/, inputs/, and the host's attributes of
// analyses/<name>/.
#include <string>
#include <vector>

#include "host/prepare.hpp"
#include "mechlens/model.hpp"
#include "recipe/recipe.hpp"
#include "store/archive.hpp"

namespace mechlens::host {

struct RunEnvironment {
  std::string command_line;  // the mechlens command line ("" when called as a library)
  std::string blas;          // BlasInfo::kind_name()
  int threads = 0;
  std::string archive;       // where the run is written (the recipe's output, or --out)
};

// Run attributes (§5.2) and provenance/ (§6.0) except the timings.
void write_run_provenance(store::RunWriter& run, const recipe::Recipe& recipe,
                          const std::vector<PreparedAnalysis>& analyses, const RunEnvironment& env);
// model/ (§6.1): adapter, checkpoint identity, geometry.
void write_model_provenance(store::RunWriter& run, const recipe::ModelSection& section, const Model& model);
// inputs/ (§6.2): per-input tables and inputs/by_id/<id>/ per-token tables.
void write_inputs(store::RunWriter& run, const std::vector<EncodedInput>& inputs, const Model& model);
// The host's attributes of analyses/<name>/ (§6.3): plugin, its library,
// the resolved parameters as TOML text and as `param.<key>` attributes.
void write_analysis_provenance(ResultGroup& group, const PreparedAnalysis& analysis);
// The coordinate `input` (the input ids, in order) in an analysis group, so
// that its `input` dim has the ids as labels for netCDF readers, which see a
// group and its ancestors only, not inputs/ (results.md §4.3, §6.3).
void write_input_coordinate(ResultGroup& group, const std::vector<EncodedInput>& inputs);

// The resolved parameters as TOML lines ("name = value"), sorted by name.
std::string params_toml(const ParamValues& params);
// The recipe after overrides, ${VAR} expansion and defaults (plugin defaults
// included), as TOML: what actually ran.
std::string resolved_recipe_toml(const recipe::Recipe& recipe, const std::vector<PreparedAnalysis>& analyses,
                                 const std::string& archive);

}  // namespace mechlens::host
