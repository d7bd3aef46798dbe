#include "mechlens/token_sets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <map>
#include <set>
#include <tuple>

#include "mechlens/error.hpp"

namespace mechlens {

namespace {

struct Parsed {
  std::string name;
  int buffer = 0;
  std::vector<std::int64_t> explicit_positions;
};

bool parse_int(const std::string& s, std::int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  out = v;
  return true;
}

std::string known() {
  return "object[+B], image, image_minus_object[+B], random[+B], register, last, last_image_row, text, or "
         "positions (\"5\", \"-1\", \"2,5,9\")";
}

Parsed parse(const std::string& spec, const std::string& where) {
  Parsed p;
  const std::size_t plus = spec.find('+');
  p.name = spec.substr(0, plus);
  if (plus != std::string::npos) {
    std::int64_t b = 0;
    if (!parse_int(spec.substr(plus + 1), b) || b < 0 || b > 64)
      fail(where, "'" + spec + "': the buffer after '+' is a patch count 0..64");
    if (p.name != "object" && p.name != "image_minus_object" && p.name != "random")
      fail(where, "'" + spec + "': only object, image_minus_object and random take a +buffer");
    p.buffer = static_cast<int>(b);
  }
  const auto& names = token_set_names();
  if (std::find(names.begin(), names.end(), p.name) != names.end()) return p;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = spec.find(',', start);
    std::int64_t v = 0;
    if (!parse_int(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start), v))
      fail(where, "'" + spec + "' is not a token set: use " + known());
    p.explicit_positions.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  p.name.clear();
  return p;
}

bool is_patch(const TokenAnnotation& a) { return a.modality == Modality::image && !a.separator; }

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The first `n` of a seeded Fisher-Yates shuffle (own loop: std::shuffle and
// the distributions differ between standard libraries; mt19937_64 does not).
std::vector<std::int64_t> draw(std::vector<std::int64_t> pool, std::size_t n, const TokenSetOptions& o,
                               const std::string& id, const std::string& what) {
  std::seed_seq seq{std::uint64_t(o.seed) & 0xffffffffu, std::uint64_t(o.seed) >> 32, std::uint64_t(o.draw),
                    fnv1a(id) & 0xffffffffu, fnv1a(id) >> 32, fnv1a(what) & 0xffffffffu};
  std::mt19937_64 rng(seq);
  n = std::min(n, pool.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(rng() % (pool.size() - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(n);
  std::sort(pool.begin(), pool.end());
  return pool;
}

// Object patch tokens dilated by `buffer` (Chebyshev distance in the crop's grid).
std::vector<std::int64_t> object_set(const EncodedInput& input, int buffer, const std::string& who) {
  const auto& ann = input.annotations;
  std::set<std::tuple<int, int, int>> cells;
  for (const TokenAnnotation& a : ann)
    if (a.object) cells.emplace(a.crop, a.row, a.col);
  if (cells.empty())
    fail(who, "has no object tokens: give the input an object annotation (object_box, object_mask, or the image "
              "folder's annotations file)");
  std::vector<std::int64_t> out;
  for (std::size_t p = 0; p < ann.size(); ++p) {
    const TokenAnnotation& a = ann[p];
    if (!is_patch(a)) continue;
    bool in = a.object;
    for (int dr = -buffer; !in && dr <= buffer; ++dr)
      for (int dc = -buffer; !in && dc <= buffer; ++dc) in = cells.count({a.crop, a.row + dr, a.col + dc}) > 0;
    if (in) out.push_back(static_cast<std::int64_t>(p));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& token_set_names() {
  static const std::vector<std::string> names = {"object", "image", "image_minus_object", "random",
                                                 "register", "last", "last_image_row", "text"};
  return names;
}

void check_token_set_spec(const std::string& spec, const std::string& where) { parse(spec, where); }

bool token_set_is_random(const std::string& spec) {
  const std::string name = spec.substr(0, spec.find('+'));
  return name == "random" || name == "object";
}
bool token_set_needs_norms(const std::string& spec) { return spec == "register"; }
bool token_set_takes_count(const std::string& spec) {
  const std::string name = spec.substr(0, spec.find('+'));
  return name == "random" || name == "object" || name == "register";
}

std::vector<std::int64_t> token_set(const EncodedInput& input, const std::string& spec, const TokenSetOptions& o,
                                    const std::string& where) {
  const Parsed p = parse(spec, where);
  const std::string who = where + ": input '" + input.spec.id + "', token set '" + spec + "'";
  const auto& ann = input.annotations;
  const auto length = static_cast<std::int64_t>(ann.size());
  std::vector<std::int64_t> out;
  auto all_where = [&](auto keep) {
    for (std::int64_t i = 0; i < length; ++i)
      if (keep(ann[static_cast<std::size_t>(i)])) out.push_back(i);
  };
  auto cap = [&](std::size_t have) { return o.count ? std::min<std::size_t>(have, std::size_t(std::max<std::int64_t>(0, *o.count))) : have; };
  if (p.name.empty()) {
    for (std::int64_t v : p.explicit_positions) {
      const std::int64_t q = v < 0 ? length + v : v;
      if (q < 0 || q >= length) fail(who, "position " + std::to_string(v) + " is outside its " + std::to_string(length) + " tokens");
      out.push_back(q);
    }
  } else if (p.name == "object") {
    out = object_set(input, p.buffer, who);
    if (o.count && std::size_t(*o.count) < out.size()) out = draw(out, cap(out.size()), o, input.spec.id, spec);
  } else if (p.name == "image") {
    all_where([](const TokenAnnotation& a) { return a.modality == Modality::image; });
  } else if (p.name == "image_minus_object") {
    const auto object = object_set(input, p.buffer, who);
    all_where([](const TokenAnnotation& a) { return a.modality == Modality::image; });
    std::vector<std::int64_t> rest;
    std::set_difference(out.begin(), out.end(), object.begin(), object.end(), std::back_inserter(rest));
    out = std::move(rest);
  } else if (p.name == "random") {
    // Without a count the set is sized by the object, which must then exist;
    // with one, an input without annotation draws from all its patches.
    const bool annotated = std::any_of(ann.begin(), ann.end(), [](const TokenAnnotation& a) { return a.object; });
    const std::vector<std::int64_t> object =
        annotated || !o.count ? object_set(input, p.buffer, who) : std::vector<std::int64_t>{};
    std::vector<std::int64_t> pool;
    for (std::int64_t i = 0; i < length; ++i)
      if (is_patch(ann[std::size_t(i)]) && !std::binary_search(object.begin(), object.end(), i)) pool.push_back(i);
    out = draw(pool, o.count ? cap(pool.size()) : object.size(), o, input.spec.id, spec);
  } else if (p.name == "register") {
    if (o.input_norms.size() != ann.size())
      fail(who, "needs the language model's input norms at every position (" + std::to_string(o.input_norms.size()) +
                    " given for " + std::to_string(ann.size()) + " tokens)");
    std::vector<std::int64_t> patches;
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < length; ++i)
      if (is_patch(ann[std::size_t(i)])) patches.push_back(i), sum += o.input_norms[std::size_t(i)];
    if (patches.empty()) fail(who, "has no image patch tokens");
    const double mean = sum / patches.size();
    for (std::int64_t i : patches) sq += (o.input_norms[std::size_t(i)] - mean) * (o.input_norms[std::size_t(i)] - mean);
    const double sigma = std::sqrt(sq / patches.size());
    if (o.count) {
      std::stable_sort(patches.begin(), patches.end(), [&](std::int64_t a, std::int64_t b) {
        return o.input_norms[std::size_t(a)] > o.input_norms[std::size_t(b)];
      });
      patches.resize(cap(patches.size()));
      out = patches;
    } else {
      for (std::int64_t i : patches)
        if (o.input_norms[std::size_t(i)] > mean + 2 * sigma) out.push_back(i);
    }
  } else if (p.name == "last") {
    if (input.answer_position < 0 || input.answer_position >= length) fail(who, "has no answer position");
    out.push_back(input.answer_position);
  } else if (p.name == "last_image_row") {
    std::map<int, int> last_row;  // crop → its last row
    for (const TokenAnnotation& a : ann)
      if (a.modality == Modality::image && a.crop >= 0) last_row[a.crop] = std::max(last_row[a.crop], a.row);
    all_where([&](const TokenAnnotation& a) {
      return a.modality == Modality::image && a.crop >= 0 && a.row == last_row[a.crop];
    });
  } else if (p.name == "text") {
    all_where([](const TokenAnnotation& a) { return a.modality == Modality::text; });
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mechlens
