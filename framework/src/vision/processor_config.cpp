#include "vision/processor_config.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mechlens/error.hpp"

namespace mechlens::vision {
namespace {

using json = nlohmann::json;

std::string where_key(const std::string& file, const std::string& key) { return file + ": key '" + key + "'"; }

bool read_json(const std::string& path, bool required, json& out) {
  std::ifstream in(path);
  if (!in) {
    if (required) fail(path, "cannot open processor configuration");
    return false;
  }
  try {
    out = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, std::string("invalid JSON: ") + e.what());
  }
  if (!out.is_object()) fail(path, "expected a JSON object at the top level");
  return true;
}


int positive_int(const json& v, const std::string& where) {
  if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > (1 << 20))
    fail(where, "expected a positive integer, got " + v.dump());
  return v.get<int>();
}

bool boolean(const json& v, const std::string& where) {
  if (!v.is_boolean()) fail(where, "expected true or false, got " + v.dump());
  return v.get<bool>();
}

std::array<double, 3> three(const json& v, const std::string& where) {
  if (v.is_number()) return {v.get<double>(), v.get<double>(), v.get<double>()};
  if (!v.is_array() || v.size() != 3) fail(where, "expected a number or 3 numbers (one per RGB channel), got " + v.dump());
  std::array<double, 3> out{};
  for (int i = 0; i < 3; ++i) {
    if (!v[i].is_number()) fail(where, "expected numbers, got " + v[i].dump());
    out[i] = v[i].get<double>();
  }
  return out;
}

std::vector<std::pair<int, int>> pinpoints(const json& v, const std::string& file, const std::string& key) {
  if (!v.is_array() || v.empty()) fail(where_key(file, key), "expected a non-empty list of [height, width] pairs");
  std::vector<std::pair<int, int>> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = where_key(file, key + "[" + std::to_string(i) + "]");
    if (!v[i].is_array() || v[i].size() != 2) fail(at, "expected [height, width], got " + v[i].dump());
    out.emplace_back(positive_int(v[i][0], at), positive_int(v[i][1], at));
  }
  return out;
}

std::string text(const json& v, const std::string& where) {
  if (!v.is_string()) fail(where, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

}  // namespace

int parse_max_num_patches(const std::string& ratio, const std::string& where) {
  const std::string strip_set = "anyres_max_";
  const auto first = ratio.find_first_not_of(strip_set);
  const auto last = ratio.find_last_not_of(strip_set);
  const std::string digits = first == std::string::npos ? "" : ratio.substr(first, last - first + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    fail(where, "vision_aspect_ratio '" + ratio + "' is not of the form anyres_max_<N>");
  const int n = std::stoi(digits);
  if (n <= 0) fail(where, "vision_aspect_ratio '" + ratio + "' gives no patches");
  return n;
}

std::vector<std::pair<int, int>> LlavaOnevisionProcessorConfig::default_pinpoints() {
  std::vector<std::pair<int, int>> out;
  for (int i = 1; i <= 6; ++i)
    for (int j = 1; j <= 6; ++j) out.emplace_back(384 * i, 384 * j);
  return out;
}

LlavaOnevisionProcessorConfig LlavaOnevisionProcessorConfig::load(const std::string& directory) {
  LlavaOnevisionProcessorConfig c;
  c.grid_pinpoints = default_pinpoints();

  const std::string pre_path = directory + "/preprocessor_config.json";
  json pre;
  read_json(pre_path, true, pre);
  auto key = [&](const char* k) { return where_key(pre_path, k); };
  if (pre.contains("size")) {
    // get_size_dict(size, default_to_square=False): an int is a shortest edge.
    const json& s = pre["size"];
    if (s.is_number_integer()) {
      c.crop_height = c.crop_width = positive_int(s, key("size"));
    } else if (s.is_object() && s.contains("height") && s.contains("width")) {
      c.crop_height = positive_int(s["height"], key("size.height"));
      c.crop_width = positive_int(s["width"], key("size.width"));
    } else if (s.is_object() && s.contains("shortest_edge")) {
      c.crop_height = c.crop_width = positive_int(s["shortest_edge"], key("size.shortest_edge"));
    } else {
      fail(key("size"), "expected {height, width} or {shortest_edge}, got " + s.dump());
    }
  }
  if (pre.contains("image_grid_pinpoints")) c.grid_pinpoints = pinpoints(pre["image_grid_pinpoints"], pre_path, "image_grid_pinpoints");
  if (pre.contains("resample")) {
    if (!pre["resample"].is_number_integer()) fail(key("resample"), "expected a PIL resampling code, got " + pre["resample"].dump());
    c.resample = resample_from_code(pre["resample"].get<int>(), key("resample"));
  }
  if (pre.contains("do_resize")) c.do_resize = boolean(pre["do_resize"], key("do_resize"));
  if (pre.contains("do_rescale")) c.do_rescale = boolean(pre["do_rescale"], key("do_rescale"));
  if (pre.contains("do_normalize")) c.do_normalize = boolean(pre["do_normalize"], key("do_normalize"));
  if (pre.contains("rescale_factor")) {
    if (!pre["rescale_factor"].is_number()) fail(key("rescale_factor"), "expected a number");
    c.rescale_factor = pre["rescale_factor"].get<double>();
  }
  if (pre.contains("image_mean")) c.image_mean = three(pre["image_mean"], key("image_mean"));
  if (pre.contains("image_std")) c.image_std = three(pre["image_std"], key("image_std"));
  for (int i = 0; i < 3; ++i)
    if (c.image_std[i] == 0.0) fail(key("image_std"), "a standard deviation is zero");

  // Features per crop side: processor_config's num_image_tokens wins (the
  // processor uses int(sqrt(num_image_tokens))), else the tower's geometry.
  bool have_side = false;
  std::string ratio_from, ratio;
  const std::string proc_path = directory + "/processor_config.json";
  json proc;
  if (read_json(proc_path, false, proc)) {
    if (proc.contains("num_image_tokens") && !proc["num_image_tokens"].is_null()) {
      const int n = positive_int(proc["num_image_tokens"], where_key(proc_path, "num_image_tokens"));
      c.patches_per_side = int(std::sqrt(double(n)));
      have_side = true;
    }
    if (proc.contains("vision_feature_select_strategy") && !proc["vision_feature_select_strategy"].is_null())
      c.vision_feature_select_strategy =
          text(proc["vision_feature_select_strategy"], where_key(proc_path, "vision_feature_select_strategy"));
    if (proc.contains("vision_aspect_ratio")) {
      ratio = text(proc["vision_aspect_ratio"], where_key(proc_path, "vision_aspect_ratio"));
      ratio_from = where_key(proc_path, "vision_aspect_ratio");
    }
  }
  const std::string model_path = directory + "/config.json";
  json model;
  if (read_json(model_path, false, model)) {
    if (!have_side && model.contains("vision_config") && model["vision_config"].is_object()) {
      const json& v = model["vision_config"];
      if (v.contains("image_size") && v.contains("patch_size")) {
        const int image = positive_int(v["image_size"], where_key(model_path, "vision_config.image_size"));
        const int patch = positive_int(v["patch_size"], where_key(model_path, "vision_config.patch_size"));
        c.patches_per_side = image / patch;
        have_side = true;
      }
    }
    if (model.contains("vision_aspect_ratio")) {
      const std::string m = text(model["vision_aspect_ratio"], where_key(model_path, "vision_aspect_ratio"));
      if (!ratio_from.empty() && m != ratio)
        fail(ratio_from, "'" + ratio + "' disagrees with " + model_path + " ('" + m + "')");
      ratio = m;
      ratio_from = where_key(model_path, "vision_aspect_ratio");
    }
    if (model.contains("image_grid_pinpoints") && pinpoints(model["image_grid_pinpoints"], model_path, "image_grid_pinpoints") != c.grid_pinpoints)
      fail(where_key(model_path, "image_grid_pinpoints"), "differs from " + pre_path + " (the model would unpack a different tile grid)");
    if (!proc.is_object() || !proc.contains("vision_feature_select_strategy")) {
      if (model.contains("vision_feature_select_strategy"))
        c.vision_feature_select_strategy =
            text(model["vision_feature_select_strategy"], where_key(model_path, "vision_feature_select_strategy"));
    }
  }
  if (!ratio_from.empty()) {
    c.vision_aspect_ratio = ratio;
    c.max_num_patches = parse_max_num_patches(ratio, ratio_from);
  }
  if (c.vision_feature_select_strategy != "full" && c.vision_feature_select_strategy != "default")
    fail(directory, "vision_feature_select_strategy '" + c.vision_feature_select_strategy + "' is neither 'full' nor 'default'");
  return c;
}

}  // namespace mechlens::vision
