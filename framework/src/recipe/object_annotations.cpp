#include "recipe/object_annotations.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mechlens/error.hpp"

namespace mechlens::recipe::detail {

namespace fs = std::filesystem;
using nlohmann::json;

std::array<double, 4> object_box(const std::vector<double>& v, const std::string& where) {
  if (v.size() != 4) fail(where, "an object box is [x0, y0, x1, y1]: 4 numbers, not " + std::to_string(v.size()));
  if (!(v[0] < v[2]) || !(v[1] < v[3]))
    fail(where, "an object box [x0, y0, x1, y1] needs x0 < x1 and y0 < y1 (x1, y1 are exclusive pixel edges)");
  return {v[0], v[1], v[2], v[3]};
}

namespace {

ImageAnnotation read_entry(const json& e, const std::string& where, const fs::path& dir, std::string& file) {
  if (!e.is_object()) fail(where, "an annotation is a JSON object {\"file\", \"box\" or \"mask\", \"expected\"}");
  for (const auto& [key, value] : e.items())
    if (key != "file" && key != "box" && key != "mask" && key != "expected")
      fail(where, "unknown key '" + key + "' (an annotation has file, box or mask, expected)");
  if (!e.contains("file") || !e["file"].is_string()) fail(where, "needs \"file\": the image's file name in the folder");
  file = e["file"].get<std::string>();
  ImageAnnotation a;
  if (e.contains("box") && e.contains("mask")) fail(where + " (" + file + ")", "give a box or a mask, not both");
  if (e.contains("box")) {
    const json& b = e["box"];
    std::vector<double> values;
    if (b.is_array())
      for (const json& x : b) {
        if (!x.is_number()) fail(where + " (" + file + ")", "box: every coordinate must be a number");
        values.push_back(x.get<double>());
      }
    a.box = object_box(values, where + " (" + file + "): box");
  }
  if (e.contains("mask")) {
    if (!e["mask"].is_string()) fail(where + " (" + file + ")", "mask: a path (relative to the annotation file)");
    const fs::path mask = (dir / e["mask"].get<std::string>()).lexically_normal();
    if (!fs::is_regular_file(mask)) fail(where + " (" + file + ")", "mask " + mask.string() + " does not exist");
    a.mask = mask.string();
  }
  if (e.contains("expected")) {
    if (!e["expected"].is_string()) fail(where + " (" + file + ")", "expected: a string");
    a.expected = e["expected"].get<std::string>();
  }
  return a;
}

}  // namespace

std::map<std::string, ImageAnnotation> read_annotation_sidecar(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot read the annotation file");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const fs::path dir = fs::path(path).parent_path();
  std::map<std::string, ImageAnnotation> out;
  auto add = [&](const json& e, const std::string& where) {
    std::string file;
    ImageAnnotation a = read_entry(e, where, dir, file);
    if (!out.emplace(file, std::move(a)).second) fail(where, "image '" + file + "' is annotated twice");
  };
  const std::size_t first = s.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && s[first] == '[') {
    json all;
    try {
      all = json::parse(s);
    } catch (const json::exception& e) {
      fail(path, std::string("not valid JSON: ") + e.what());
    }
    for (std::size_t i = 0; i < all.size(); ++i) add(all[i], path + ": entry " + std::to_string(i));
    return out;
  }
  std::istringstream lines(s);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json e;
    try {
      e = json::parse(line);
    } catch (const json::exception& ex) {
      fail(path + ":" + std::to_string(number), std::string("not a JSON object: ") + ex.what());
    }
    add(e, path + ":" + std::to_string(number));
  }
  return out;
}

}  // namespace mechlens::recipe::detail
