#include "host/provenance.hpp"

#include <unistd.h>

#include <ctime>

#if __has_include(<torch/version.h>)
#include <torch/version.h>
#define MECHLENS_TORCH_VERSION TORCH_VERSION
#else
#define MECHLENS_TORCH_VERSION "unknown"
#endif

#include "checkpoint/sha256.hpp"
#include "host/inputs.hpp"
#include "mechlens/abi.hpp"
#include "vision/image.hpp"

namespace mechlens::host {

namespace {

// Attributes have no boolean type (results.md §4.1): booleans are 0/1, and
// the TOML text keeps the exact type.
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

// A TOML basic string: quotes, backslashes and control characters escaped
// (a prompt may hold newlines, which to_string(ParamValue) leaves as they are).
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string toml_value(const ParamValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return toml_string(*s);
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    std::string out = "[";
    for (std::size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + toml_string((*list)[i]);
    return out + "]";
  }
  return to_string(value);
}

std::string hostname() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "";
  return buffer;
}

// Input ids of image folders are "<folder id>/<image>": each '/' is one
// group level, so h5py reaches them as inputs/by_id/<folder id>/<image>.
std::unique_ptr<ResultGroup> input_group(ResultGroup& by_id, const std::string& id) {
  std::unique_ptr<ResultGroup> group;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = id.find('/', start);
    const std::string part = id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    group = group ? group->group(part) : by_id.group(part);
    if (slash == std::string::npos) return group;
    start = slash + 1;
  }
}

}  // namespace

std::string params_toml(const ParamValues& params) {
  std::string out;
  for (const auto& [name, value] : params.all()) out += name + " = " + toml_value(value) + "\n";
  return out;
}

std::string resolved_recipe_toml(const recipe::Recipe& recipe, const std::vector<PreparedAnalysis>& analyses,
                                 const std::string& archive) {
  const recipe::Experiment& e = recipe.experiment;
  const recipe::ModelSection& m = recipe.model;
  std::string out = "[experiment]\nname = " + toml_string(e.name) + "\ndescription = " + toml_string(e.description) +
                    "\nseed = " + std::to_string(e.seed) + "\noutput = " + toml_string(archive) + "\n\n";
  out += "[model]\nadapter = " + toml_string(m.adapter) + "\npath = " + toml_string(m.path) +
         "\ndtype = " + toml_string(m.dtype) + "\ndevice = " + toml_string(m.device) +
         "\nthreads = " + std::to_string(m.threads) + "\n";
  // Only when it differs from the default, so earlier runs' resolved recipes stay the same text.
  if (!m.lora.empty() && m.lora != "runtime") out += "lora = " + toml_string(m.lora) + "\n";
  for (const InputSpec& input : recipe.inputs) {
    out += "\n[[inputs]]\nid = " + toml_string(input.id) + "\ntext = " + toml_string(input.text) + "\n";
    if (input.image) out += "image = " + toml_string(*input.image) + "\n";
    if (input.answer_position) out += "answer_position = " + std::to_string(*input.answer_position) + "\n";
    if (input.object_box)
      out += "object_box = " + to_string(ParamValue(std::vector<double>(input.object_box->begin(), input.object_box->end()))) + "\n";
    if (input.object_mask) out += "object_mask = " + toml_string(*input.object_mask) + "\n";
    out += "expected = " + toml_string(input.expected) + "\ntags = " + toml_value(input.tags) + "\n";
  }
  for (const PreparedAnalysis& a : analyses) {
    out += "\n[[analysis]]\nplugin = " + toml_string(a.entry->plugin) + "\nname = " + toml_string(a.entry->name) +
           "\n" + params_toml(a.params);
  }
  return out;
}

void write_run_provenance(store::RunWriter& run, const recipe::Recipe& recipe,
                          const std::vector<PreparedAnalysis>& analyses, const RunEnvironment& env) {
  std::vector<std::string> names;
  for (const PreparedAnalysis& a : analyses) names.push_back(a.entry->name);
  run.set_attr("recipe_path", recipe.path);
  run.set_attr("command_line", env.command_line);
  run.set_attr("plugin_abi", std::int64_t{kPluginAbiVersion});
  run.set_attr("analyses", names);

  auto p = run.group("provenance");
  p->set_attr("recipe", recipe.text);
  p->set_attr("recipe_sha256", checkpoint::sha256_hex(recipe.text));
  p->set_attr("overrides", recipe.overrides);
  p->set_attr("resolved_recipe", resolved_recipe_toml(recipe, analyses, env.archive));
  p->set_attr("hostname", hostname());
  p->set_attr("torch_version", std::string(MECHLENS_TORCH_VERSION));
  p->set_attr("blas", env.blas);
  p->set_attr("threads", std::int64_t{env.threads});
  p->set_attr("device", recipe.model.device);
  p->set_attr("dtype", recipe.model.dtype);
  p->set_attr("seed", recipe.experiment.seed);
}

void write_model_provenance(store::RunWriter& run, const recipe::ModelSection& section, const Model& model) {
  auto group = run.group("model");
  const CheckpointIdentity id = model.identity();
  group->set_attr("adapter", section.adapter);
  group->set_attr("family", model.family());
  group->set_attr("format", id.format);
  group->set_attr("checkpoint_path", id.path);
  group->set_attr("config_sha256", id.config_sha256);
  group->set_attr("tensors_sha256", id.tensors_sha256);
  group->set_attr("files", id.files);
  const Geometry g = model.geometry();
  group->set_attr("n_layers", std::int64_t{g.n_layers});
  group->set_attr("n_heads", std::int64_t{g.n_heads});
  group->set_attr("n_kv_heads", std::int64_t{g.n_kv_heads});
  group->set_attr("d_head", std::int64_t{g.d_head});
  group->set_attr("d_model", std::int64_t{g.d_model});
  group->set_attr("vocab_size", std::int64_t{g.vocab_size});
  group->set_attr("causal", std::int64_t{g.causal ? 1 : 0});
  group->set_attr("dtype", section.dtype);
  group->set_attr("device", section.device);
}

void write_inputs(store::RunWriter& run, const std::vector<EncodedInput>& inputs, const Model& model) {
  auto all = run.group("inputs");
  std::vector<std::string> ids, texts, images, hashes, expected, answer_sources;
  std::vector<std::int64_t> answers, lengths;
  for (const EncodedInput& input : inputs) {
    ids.push_back(input.spec.id);
    texts.push_back(input.spec.text);
    images.push_back(input.spec.image.value_or(""));
    hashes.push_back(input.spec.image ? checkpoint::sha256_file_hex(*input.spec.image) : "");
    expected.push_back(input.spec.expected);
    answers.push_back(input.answer_position);
    answer_sources.push_back(answer_position_source(model, input));
    lengths.push_back(static_cast<std::int64_t>(input.ids.size()));
  }
  all->write_strings("input", ids, "input");  // the coordinate (results.md §4.3)
  all->write_strings("text", texts, "input");
  all->write_strings("image", images, "input");
  all->write_strings("image_sha256", hashes, "input");
  all->write_strings("expected", expected, "input");
  write_array(*all, "n_tokens", ElementType::i64, lengths, "input");
  write_array(*all, "answer_position", ElementType::i64, answers, "input");
  all->write_strings("answer_position_source", answer_sources, "input");

  auto by_id = all->group("by_id");
  for (const EncodedInput& input : inputs) {
    auto group = input_group(*by_id, input.spec.id);
    group->write_strings("tokens", input.tokens, "pos");
    write_array(*group, "ids", ElementType::i64, input.ids, "pos");
    std::vector<std::uint8_t> modality, object;
    std::vector<std::int32_t> crop, row, col;
    std::vector<float> extent;  // [pos, 4]: x0, y0, x1, y1 in original pixels
    for (const TokenAnnotation& a : input.annotations) {
      modality.push_back(static_cast<std::uint8_t>(a.modality));
      object.push_back(a.object ? 1 : 0);
      crop.push_back(a.crop);
      row.push_back(a.row);
      col.push_back(a.col);
      extent.insert(extent.end(), {a.x0, a.y0, a.x1, a.y1});
    }
    write_array(*group, "modality", ElementType::u8, modality, "pos");
    // results.md puts these labels on the dataset; a ResultGroup sets group attributes only.
    group->set_attr("modality_labels", std::vector<std::string>{to_string(Modality::text), to_string(Modality::image),
                                                                to_string(Modality::special)});
    write_array(*group, "crop", ElementType::i32, crop, "pos");
    write_array(*group, "row", ElementType::i32, row, "pos");
    write_array(*group, "col", ElementType::i32, col, "pos");
    write_array(*group, "object", ElementType::u8, object, "pos");
    group->write("patch_box", ArrayRef{ElementType::f32, {static_cast<std::int64_t>(input.annotations.size()), 4}, extent.data()},
                 {"pos", "box_corner"});
    if (input.spec.object_box)
      group->set_attr("object_box", std::vector<double>(input.spec.object_box->begin(), input.spec.object_box->end()));
    if (input.spec.object_mask) group->set_attr("object_mask", *input.spec.object_mask);
    group->set_attr("answer_position", input.answer_position);
    group->set_attr("answer_position_source", answer_position_source(model, input));
    group->set_attr("tags", input.spec.tags);
    if (input.spec.image) {
      // The size the model's processor starts from (EXIF orientation applied).
      const vision::RgbImage image = vision::decode_image(*input.spec.image);
      group->set_attr("image_width", std::int64_t{image.width});
      group->set_attr("image_height", std::int64_t{image.height});
    }
  }
}

void write_input_coordinate(ResultGroup& group, const std::vector<EncodedInput>& inputs) {
  if (group.has("input")) return;  // a resumed analysis: written at the start, maybe in use already
  std::vector<std::string> ids;
  for (const EncodedInput& input : inputs) ids.push_back(input.spec.id);
  group.write_strings("input", ids, "input");
}

void write_analysis_provenance(ResultGroup& group, const PreparedAnalysis& analysis) {
  const PluginInfo& info = analysis.plugin->info();
  group.set_attr("plugin", info.name);
  group.set_attr("plugin_version", info.version);
  group.set_attr("plugin_library", analysis.plugin->path());
  group.set_attr("params", params_toml(analysis.params));
  for (const auto& [name, value] : analysis.params.all()) group.set_attr("param." + name, to_attr(value));
}

}  // namespace mechlens::host
