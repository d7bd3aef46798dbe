#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "mechlens/error.hpp"
#include "recipe/check.hpp"
#include "recipe/env_expand.hpp"
#include "recipe/fields.hpp"
#include "recipe/object_annotations.hpp"
#include "recipe/overrides.hpp"
#include "recipe/recipe.hpp"
#include "recipe/schema.hpp"

namespace mechlens::recipe {

namespace fs = std::filesystem;
using detail::Entry;
using detail::Fields;

namespace {

std::string read_file(const std::string& path) {
  // An ifstream opens a directory and reads nothing: the user would be told
  // the recipe has no [[analysis]].
  if (fs::is_directory(path)) fail(path, "is a directory, not a recipe file (give the .toml file inside it)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot read the recipe (" + std::string(fs::exists(path) ? "not readable" : "no such file") + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

Experiment read_experiment(const Entry& e, const std::string& base_dir) {
  Fields f(e);
  Experiment x;
  x.name = f.str("name");
  x.description = f.str("description");
  x.seed = f.integer("seed");
  x.output = f.has("output") ? f.str("output") : (fs::path(base_dir) / (x.name + ".h5")).lexically_normal().string();
  return x;
}

ModelSection read_model(const Entry& e) {
  Fields f(e);
  ModelSection m;
  m.adapter = f.str("adapter");
  m.path = f.str("path");
  m.dtype = f.str("dtype");
  m.device = f.str("device");
  m.threads = f.integer("threads");
  m.lora = f.str("lora");
  return m;
}

// One input per image of the folder, sorted by file name (byte order, so the
// order does not depend on the locale or the file system).
void read_image_folder(const Entry& e, std::vector<InputSpec>& out) {
  Fields f(e);
  const fs::path dir = f.str("image_dir");
  std::vector<fs::path> images;
  std::error_code ec;
  for (const fs::directory_entry& d : fs::directory_iterator(dir, ec))
    if (d.is_regular_file() && is_image_file(d.path())) images.push_back(d.path());
  if (ec) fail(f.source("image_dir").where(), e.path + ".image_dir: cannot list " + dir.string() + ": " + ec.message());
  if (images.empty())
    fail(f.source("image_dir").where(), e.path + ".image_dir: no .png, .jpg or .jpeg files in " + dir.string());
  std::sort(images.begin(), images.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  if (f.has("limit")) images.resize(std::min<std::size_t>(images.size(), static_cast<std::size_t>(f.integer("limit"))));
  const std::string prefix = f.has("id") ? f.str("id") : dir.filename().string();
  std::map<std::string, detail::ImageAnnotation> sidecar;
  if (f.has("annotations")) {
    const std::string file = f.str("annotations");
    try {
      sidecar = detail::read_annotation_sidecar(file);
    } catch (const std::exception& ex) {
      fail(f.source("annotations").where(), e.path + ".annotations: " + ex.what());
    }
    // A name the folder does not hold is a typo, not an image to skip.
    for (const auto& [name, a] : sidecar)
      if (!fs::is_regular_file(dir / name))
        fail(f.source("annotations").where(), e.path + ".annotations: " + file + " annotates '" + name +
                                                  "', which is not an image in " + dir.string());
  }
  for (const fs::path& image : images) {
    InputSpec in;
    in.id = prefix + "/" + image.stem().string();
    in.text = f.str("text");
    in.image = image.string();
    in.expected = f.str("expected");
    in.tags = f.strings("tags");
    if (f.has("answer_position")) in.answer_position = f.integer("answer_position");
    auto a = sidecar.find(image.filename().string());
    if (a != sidecar.end()) {
      in.object_box = a->second.box;
      in.object_mask = a->second.mask;
      if (a->second.expected) in.expected = *a->second.expected;
    }
    out.push_back(std::move(in));
  }
}

// True when `s` is well-formed UTF-8 (a prompt must be; the tokenizers assume it).
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int more = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (more < 0 || i + static_cast<std::size_t>(more) >= s.size() + (more == 0)) return false;  // truncated
    for (int k = 1; k <= more; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += more + 1;
  }
  return true;
}

// One input per line of a text file (blank lines and '#' comments skipped);
// ids are <id>/<line number>, so an input keeps its id when lines around it
// are commented out.
void read_prompts_file(const Entry& e, std::vector<InputSpec>& out) {
  Fields f(e);
  const std::string path = f.str("prompts_file");
  const std::string where = f.source("prompts_file").where();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(where, e.path + ".prompts_file: cannot read " + path);
  const std::string prefix = f.has("id") ? f.str("id") : fs::path(path).stem().string();
  const std::size_t limit = f.has("limit") ? static_cast<std::size_t>(f.integer("limit")) : SIZE_MAX;
  std::string line;
  std::size_t taken = 0;
  for (int number = 1; taken < limit && std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    if (!valid_utf8(line)) fail(path + ":" + std::to_string(number), "prompt is not valid UTF-8 (" + e.path + ".prompts_file)");
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    InputSpec input;
    input.id = prefix + "/" + std::to_string(number);
    input.text = line.substr(first, line.find_last_not_of(" \t") + 1 - first);
    input.expected = f.str("expected");
    input.tags = f.strings("tags");
    if (f.has("answer_position")) input.answer_position = f.integer("answer_position");
    out.push_back(std::move(input));
    ++taken;
  }
  if (taken == 0) fail(where, e.path + ".prompts_file: no prompts in " + path + " (only blank lines and '#' comments)");
}

void read_single_input(const Entry& e, std::vector<InputSpec>& out) {
  Fields f(e);
  InputSpec in;
  in.id = f.has("id") ? f.str("id") : "input_" + std::to_string(out.size());
  in.text = f.str("text");
  if (f.has("image")) in.image = f.str("image");
  in.expected = f.str("expected");
  in.tags = f.strings("tags");
  if (f.has("answer_position")) in.answer_position = f.integer("answer_position");
  if (f.has("object_box")) in.object_box = detail::object_box(f.reals("object_box"), f.source("object_box").where() + ": " + e.path + ".object_box");
  if (f.has("object_mask")) in.object_mask = f.str("object_mask");
  if (in.object_box && in.object_mask)
    fail(f.source("object_mask").where(), e.path + ": give object_box or object_mask, not both");
  if ((in.object_box || in.object_mask) && !in.image)
    fail(f.source(in.object_box ? "object_box" : "object_mask").where(),
         e.path + "." + (in.object_box ? "object_box" : "object_mask") + ": an object annotation needs the input's `image`");
  out.push_back(std::move(in));
}

std::vector<InputSpec> read_inputs(const std::vector<Entry>& entries) {
  std::vector<InputSpec> out;
  std::vector<std::size_t> origin;  // entry of each input, for the duplicate-id message
  for (const Entry& e : entries) {
    if (e.shape->key("image_dir")) read_image_folder(e, out);
    else if (e.shape->key("prompts_file")) read_prompts_file(e, out);
    else read_single_input(e, out);
    origin.resize(out.size(), e.index);
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (out[i].id == out[j].id)
        fail(Fields(entries[origin[i]]).source("id").where(),
             "inputs[" + std::to_string(origin[i]) + "] makes input id '" + out[i].id + "', which inputs[" +
                 std::to_string(origin[j]) + "] makes too; give one an id");
  return out;
}

AnalysisEntry read_analysis(const Entry& e) {
  Fields f(e);
  AnalysisEntry a;
  a.plugin = f.str("plugin");
  a.name = f.str("name");
  for (const auto& [key, item] : e.open) {
    a.raw[key] = item.value;
    a.raw_sources[key] = item.source;
  }
  a.source = e.source;
  a.index = e.index;
  return a;
}

}  // namespace

Recipe load(const std::string& path, const std::vector<std::string>& overrides) {
  Recipe r;
  r.path = fs::absolute(path).lexically_normal().string();
  r.text = read_file(path);
  r.overrides = overrides;
  const std::string base_dir = fs::path(r.path).parent_path().string();

  toml::table root;
  try {
    root = toml::parse(r.text, path);
  } catch (const toml::parse_error& e) {
    fail(path + ":" + std::to_string(e.source().begin.line) + ":" + std::to_string(e.source().begin.column),
         std::string(e.description()));
  }
  const detail::Schema& schema = detail::schema();
  for (const std::string& o : overrides) detail::apply_override(root, o, schema, path);
  detail::expand_all(root, path);
  const detail::Checked checked = detail::check(root, schema, path, base_dir);

  r.experiment = read_experiment(checked.at("experiment").front(), base_dir);
  r.model = read_model(checked.at("model").front());
  r.inputs = read_inputs(checked.at("inputs"));
  for (const Entry& e : checked.at("analysis")) r.analyses.push_back(read_analysis(e));
  return r;
}

}  // namespace mechlens::recipe
