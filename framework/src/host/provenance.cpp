#include "host/provenance.hpp"

#include <ctime>

#include "checkpoint/sha256.hpp"
#include "mechlens/abi.hpp"

namespace mechlens::host {

namespace {

// Attributes have no boolean type in our store (nor a portable one in HDF5):
// booleans are 0/1, and the TOML text keeps the exact type.
AttrValue to_attr(const ParamValue& value) {
  struct Convert {
    AttrValue operator()(bool v) const { return std::int64_t{v ? 1 : 0}; }
    AttrValue operator()(std::int64_t v) const { return v; }
    AttrValue operator()(double v) const { return v; }
    AttrValue operator()(const std::string& v) const { return v; }
    AttrValue operator()(const std::vector<std::int64_t>& v) const { return v; }
    AttrValue operator()(const std::vector<double>& v) const { return v; }
    AttrValue operator()(const std::vector<std::string>& v) const { return v; }
  };
  return std::visit(Convert{}, value);
}

template <typename T>
void write_array(ResultGroup& group, const std::string& name, ElementType type, const std::vector<T>& values,
                 const std::string& dim) {
  ArrayRef array{type, {static_cast<std::int64_t>(values.size())}, values.data()};
  group.write(name, array, {dim});
}

}  // namespace

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string params_toml(const ParamValues& params) {
  std::string out;
  for (const auto& [name, value] : params.all()) out += name + " = " + to_string(value) + "\n";
  return out;
}

void write_run_provenance(store::RunWriter& run, const recipe::Recipe& recipe, const std::string& started) {
  run.set_attr("recipe_text", recipe.text);
  run.set_attr("recipe_path", recipe.path);
  run.set_attr("overrides", recipe.overrides);
  run.set_attr("experiment", recipe.experiment.name);
  run.set_attr("description", recipe.experiment.description);
  run.set_attr("seed", recipe.experiment.seed);
  run.set_attr("mechlens_version", std::string(kVersion));
  run.set_attr("plugin_abi_version", std::int64_t{kPluginAbiVersion});
  run.set_attr("started", started);
}

void write_model_provenance(store::RunWriter& run, const recipe::ModelSection& section, const Model& model) {
  auto group = run.group("model");
  const CheckpointIdentity id = model.identity();
  group->set_attr("adapter", section.adapter);
  group->set_attr("family", model.family());
  group->set_attr("path", id.path);
  group->set_attr("format", id.format);
  group->set_attr("config_sha256", id.config_sha256);
  group->set_attr("tensors_sha256", id.tensors_sha256);
  group->set_attr("files", id.files);
  group->set_attr("dtype", section.dtype);
  group->set_attr("device", section.device);
  const Geometry g = model.geometry();
  group->set_attr("n_layers", std::int64_t{g.n_layers});
  group->set_attr("n_heads", std::int64_t{g.n_heads});
  group->set_attr("n_kv_heads", std::int64_t{g.n_kv_heads});
  group->set_attr("d_head", std::int64_t{g.d_head});
  group->set_attr("d_model", std::int64_t{g.d_model});
  group->set_attr("vocab_size", std::int64_t{g.vocab_size});
  group->set_attr("causal", std::int64_t{g.causal ? 1 : 0});
}

void write_inputs(store::RunWriter& run, const std::vector<EncodedInput>& inputs) {
  auto all = run.group("inputs");
  std::vector<std::string> ids;
  std::vector<std::int64_t> answers, lengths;
  for (const EncodedInput& input : inputs) {
    ids.push_back(input.spec.id);
    answers.push_back(input.answer_position);
    lengths.push_back(static_cast<std::int64_t>(input.ids.size()));
  }
  all->write_strings("id", ids, "input");
  write_array(*all, "answer_position", ElementType::i64, answers, "input");
  write_array(*all, "n_tokens", ElementType::i64, lengths, "input");

  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const EncodedInput& input = inputs[i];
    auto group = all->group("input_" + std::to_string(i));
    group->set_attr("id", input.spec.id);
    group->set_attr("text", input.spec.text);
    group->set_attr("expected", input.spec.expected);
    group->set_attr("tags", input.spec.tags);
    group->set_attr("answer_position", input.answer_position);
    if (input.spec.image) {
      group->set_attr("image", *input.spec.image);
      group->set_attr("image_sha256", checkpoint::sha256_file_hex(*input.spec.image));
    }
    write_array(*group, "ids", ElementType::i64, input.ids, "token");
    group->write_strings("tokens", input.tokens, "token");
    std::vector<std::uint8_t> modality;
    std::vector<std::int32_t> crop, row, col;
    for (const TokenAnnotation& a : input.annotations) {
      modality.push_back(static_cast<std::uint8_t>(a.modality));
      crop.push_back(a.crop);
      row.push_back(a.row);
      col.push_back(a.col);
    }
    write_array(*group, "modality", ElementType::u8, modality, "token");
    // The code → name table travels with the data (0 text, 1 image, 2 special).
    group->set_attr("modality_names", std::vector<std::string>{to_string(Modality::text), to_string(Modality::image),
                                                               to_string(Modality::special)});
    write_array(*group, "crop", ElementType::i32, crop, "token");
    write_array(*group, "row", ElementType::i32, row, "token");
    write_array(*group, "col", ElementType::i32, col, "token");
  }
}

void write_analysis_provenance(ResultGroup& group, const PreparedAnalysis& analysis) {
  const PluginInfo& info = analysis.plugin->info();
  group.set_attr("plugin", info.name);
  group.set_attr("plugin_version", info.version);
  group.set_attr("plugin_path", analysis.plugin->path());
  group.set_attr("params", params_toml(analysis.params));
  for (const auto& [name, value] : analysis.params.all()) group.set_attr("param." + name, to_attr(value));
}

}  // namespace mechlens::host
