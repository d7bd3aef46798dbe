#include "host/merge_tree.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "mechlens/error.hpp"

namespace mechlens::host::merging {

namespace {

const char* name_of(Combine how) {
  switch (how) {
    case Combine::concatenate: return "concatenate";
    case Combine::same: return "same";
    case Combine::sum: return "sum";
    case Combine::mean: return "mean";
    case Combine::max: return "max";
    case Combine::min: return "min";
    case Combine::recompute: return "recompute";
  }
  return "?";
}

const MergeRule* find_rule(const std::vector<MergeRule>& rules, const std::string& name) {
  for (const MergeRule& r : rules)
    if (r.name == name) return &r;
  return nullptr;
}

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool same_array(const Array& a, const Array& b) {
  if (a.dtype != b.dtype || a.shape != b.shape || a.dims != b.dims || a.strings != b.strings) return false;
  if (a.numbers.size() != b.numbers.size()) return false;
  for (std::size_t i = 0; i < a.numbers.size(); ++i)
    if (!same_number(a.numbers[i], b.numbers[i])) return false;
  return true;
}

std::string shape_text(const Array& a) {
  std::string out = a.dtype + " [";
  for (std::size_t i = 0; i < a.shape.size(); ++i)
    out += (i ? ", " : "") + (i < a.dims.size() ? a.dims[i] + "=" : std::string()) + std::to_string(a.shape[i]);
  return out + "]";
}

double default_pad(const std::string& dtype) {
  if (dtype.rfind("float", 0) == 0) return std::numeric_limits<double>::quiet_NaN();
  if (dtype.rfind("uint", 0) == 0) return 0.0;
  return -1.0;
}

std::int64_t product(const std::vector<std::int64_t>& shape, std::size_t from) {
  std::int64_t n = 1;
  for (std::size_t i = from; i < shape.size(); ++i) n *= shape[i];
  return n;
}

// The axis a dataset is concatenated along: the one named `input`, else the first.
std::size_t input_axis(const Array& a) {
  const auto it = std::find(a.dims.begin(), a.dims.end(), "input");
  return it == a.dims.end() ? 0 : static_cast<std::size_t>(it - a.dims.begin());
}

Array concatenate(const std::vector<const Array*>& arrays, const std::vector<Part>& parts, const MergeRule* rule,
                  const std::string& where) {
  const Array& first = *arrays[0];
  if (first.shape.empty()) fail(where, "a scalar cannot be concatenated (give it another merge rule)");
  const std::size_t axis = input_axis(first);
  Array out;
  out.dtype = first.dtype;
  out.dims = first.dims;
  out.shape = first.shape;
  out.shape[axis] = 0;
  for (std::size_t s = 0; s < arrays.size(); ++s) {
    const Array& a = *arrays[s];
    if (a.dtype != first.dtype || a.dims != first.dims || a.shape.size() != first.shape.size())
      fail(where, "cannot be concatenated: " + shape_text(a) + " in " + parts[s].label + ", " + shape_text(first) +
                      " in " + parts[0].label);
    out.shape[axis] += a.shape[axis];
    for (std::size_t d = 0; d < a.shape.size(); ++d)
      if (d != axis) out.shape[d] = std::max(out.shape[d], a.shape[d]);
  }
  const double pad = rule && rule->pad ? *rule->pad : default_pad(out.dtype);
  const auto total = static_cast<std::size_t>(product(out.shape, 0));
  if (out.is_string()) out.strings.assign(total, "");
  else out.numbers.assign(total, pad);
  std::int64_t offset = 0;  // inputs written so far
  for (const Array* a : arrays) {
    const std::int64_t n = product(a->shape, 0);
    for (std::int64_t j = 0; j < n; ++j) {
      // j's multi-index in `a`, then its place in `out`.
      std::int64_t rest = j, flat = 0, stride = 1;
      for (std::size_t d = a->shape.size(); d-- > 0;) {
        const std::int64_t i = rest % a->shape[d];
        rest /= a->shape[d];
        flat += (d == axis ? i + offset : i) * stride;
        stride *= out.shape[d];
      }
      if (out.is_string()) out.strings[static_cast<std::size_t>(flat)] = a->strings[static_cast<std::size_t>(j)];
      else out.numbers[static_cast<std::size_t>(flat)] = a->numbers[static_cast<std::size_t>(j)];
    }
    offset += a->shape[axis];
  }
  return out;
}

// Sum, max, min, or mean weighted by `weights`, of equal-length number lists.
std::vector<double> elementwise(const std::vector<std::vector<double>>& values, Combine how,
                                const std::vector<double>& weights) {
  std::vector<double> out(values[0].size(), 0.0);
  for (std::size_t k = 0; k < out.size(); ++k) {
    double acc = how == Combine::max   ? -std::numeric_limits<double>::infinity()
                 : how == Combine::min ? std::numeric_limits<double>::infinity()
                                       : 0.0;
    double weight = 0.0;
    bool nan = false;
    for (std::size_t s = 0; s < values.size(); ++s) {
      const double v = values[s][k];
      switch (how) {
        case Combine::sum: acc += v; break;
        case Combine::max: nan |= std::isnan(v); acc = std::max(acc, v); break;
        case Combine::min: nan |= std::isnan(v); acc = std::min(acc, v); break;
        case Combine::mean:
          if (weights[s] > 0) acc += weights[s] * v, weight += weights[s];
          break;
        default: break;
      }
    }
    if (how == Combine::mean) acc = weight > 0 ? acc / weight : std::numeric_limits<double>::quiet_NaN();
    out[k] = nan ? std::numeric_limits<double>::quiet_NaN() : acc;
  }
  return out;
}

// The weight of each part for a mean: the sum of `rule.weight` (a dataset of
// the part's group), or the part's number of inputs.
std::vector<double> weights_of(const std::vector<Part>& parts, const MergeRule& rule, const std::string& where) {
  std::vector<double> out;
  for (const Part& p : parts) {
    if (rule.weight.empty()) {
      out.push_back(static_cast<double>(p.n_inputs));
      continue;
    }
    auto it = p.node->datasets.find(rule.weight);
    if (it == p.node->datasets.end() || it->second.is_string())
      fail(where, "its mean is weighted by '" + rule.weight + "', a numeric dataset " + p.label + " lacks");
    double w = 0.0;
    for (double v : it->second.numbers)
      if (!std::isnan(v)) w += v;
    out.push_back(w);
  }
  return out;
}

Array combine_arrays(const std::vector<const Array*>& arrays, const std::vector<Part>& parts, Combine how,
                     const MergeRule* rule, const std::string& where) {
  if (how == Combine::concatenate) return concatenate(arrays, parts, rule, where);
  const Array& first = *arrays[0];
  for (std::size_t s = 1; s < arrays.size(); ++s) {
    const Array& a = *arrays[s];
    if (how == Combine::same && !same_array(a, first))
      fail(where, "differs between " + parts[0].label + " (" + shape_text(first) + ") and " + parts[s].label + " (" +
                      shape_text(a) +
                      "); a dataset without an `input` axis must be the same in every shard unless its plugin's "
                      "merge rules say how it combines (mechlens/merge.hpp)");
    if (a.dtype != first.dtype || a.shape != first.shape || a.dims != first.dims)
      fail(where, std::string("cannot be combined (") + name_of(how) + "): " + shape_text(a) + " in " + parts[s].label +
                      ", " + shape_text(first) + " in " + parts[0].label);
  }
  if (how == Combine::same) return first;
  if (first.is_string()) fail(where, std::string("is a string dataset; it cannot be combined by ") + name_of(how));
  std::vector<std::vector<double>> values;
  for (const Array* a : arrays) values.push_back(a->numbers);
  Array out = first;
  out.numbers = elementwise(values, how, how == Combine::mean ? weights_of(parts, *rule, where) : std::vector<double>{});
  if (how == Combine::mean && out.dtype.rfind("float", 0) != 0) out.dtype = "float64";
  return out;
}

bool numeric_attr(const AttrValue& v) {
  return std::holds_alternative<std::int64_t>(v) || std::holds_alternative<double>(v) ||
         std::holds_alternative<std::vector<std::int64_t>>(v) || std::holds_alternative<std::vector<double>>(v);
}

std::vector<double> attr_numbers(const AttrValue& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return {static_cast<double>(*i)};
  if (auto* d = std::get_if<double>(&v)) return {*d};
  if (auto* is = std::get_if<std::vector<std::int64_t>>(&v)) return std::vector<double>(is->begin(), is->end());
  if (auto* ds = std::get_if<std::vector<double>>(&v)) return *ds;
  return {};
}

bool same_attr(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (numeric_attr(a)) {
    const auto x = attr_numbers(a), y = attr_numbers(b);
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_number(x[i], y[i])) return false;
    return true;
  }
  return a == b;
}

AttrValue combine_attr(const std::vector<const AttrValue*>& values, const std::vector<Part>& parts, Combine how,
                       const MergeRule* rule, const std::string& where) {
  const AttrValue& first = *values[0];
  if (how == Combine::same) {
    for (std::size_t s = 1; s < values.size(); ++s)
      if (!same_attr(*values[s], first))
        fail(where, "differs between " + parts[0].label + " and " + parts[s].label +
                        "; an attribute must be the same in every shard unless its plugin's merge rules say how it "
                        "combines");
    return first;
  }
  if (how == Combine::concatenate || !numeric_attr(first))
    fail(where, std::string("an attribute of this kind cannot be combined by ") + name_of(how));
  std::vector<std::vector<double>> numbers;
  for (std::size_t s = 0; s < values.size(); ++s) {
    if (values[s]->index() != first.index() || attr_numbers(*values[s]).size() != attr_numbers(first).size())
      fail(where, "has another type or length in " + parts[s].label + " than in " + parts[0].label);
    numbers.push_back(attr_numbers(*values[s]));
  }
  const std::vector<double> out =
      elementwise(numbers, how, how == Combine::mean ? weights_of(parts, *rule, where) : std::vector<double>{});
  const bool integer = std::holds_alternative<std::int64_t>(first) || std::holds_alternative<std::vector<std::int64_t>>(first);
  const bool scalar = std::holds_alternative<std::int64_t>(first) || std::holds_alternative<double>(first);
  if (integer && how != Combine::mean) {
    if (scalar) return static_cast<std::int64_t>(out[0]);
    return std::vector<std::int64_t>(out.begin(), out.end());
  }
  if (scalar) return out[0];
  return out;
}

template <typename Map>
std::vector<std::string> union_of_keys(const std::vector<Part>& parts, Map Node::*member) {
  std::set<std::string> names;
  for (const Part& p : parts)
    for (const auto& [name, value] : p.node->*member) names.insert(name);
  return {names.begin(), names.end()};
}

Node combine_at(const std::vector<Part>& parts, const MergeRules& rules, const std::string& where,
                const std::vector<std::string>& skip_attrs, const std::string& prefix) {
  Node out;
  for (const std::string& name : union_of_keys(parts, &Node::datasets)) {
    const std::string path = prefix + name, here = where + "/" + name;
    const MergeRule* rule = find_rule(rules.datasets, path);
    if (rule && rule->how == Combine::recompute) continue;
    std::vector<const Array*> arrays;
    for (const Part& p : parts) {
      auto it = p.node->datasets.find(name);
      if (it == p.node->datasets.end()) {
        const auto having = std::find_if(parts.begin(), parts.end(),
                                         [&](const Part& q) { return q.node->datasets.count(name) != 0; });
        fail(here, "is in " + having->label + " but not in " + p.label +
                       " (a dataset only some shards write needs the merge rule `recompute`)");
      }
      arrays.push_back(&it->second);
    }
    const Array& first = *arrays[0];
    const bool per_input = std::find(first.dims.begin(), first.dims.end(), "input") != first.dims.end();
    const Combine how = rule ? rule->how : per_input ? Combine::concatenate : Combine::same;
    out.datasets[name] = combine_arrays(arrays, parts, how, rule, here);
  }
  for (const std::string& name : union_of_keys(parts, &Node::groups)) {
    const MergeRule* rule = find_rule(rules.datasets, prefix + name);
    if (rule && rule->how == Combine::recompute) continue;
    std::vector<Part> having;
    for (const Part& p : parts) {
      auto it = p.node->groups.find(name);
      if (it != p.node->groups.end()) having.push_back({&it->second, p.label, p.n_inputs});
    }
    // A group only one shard has belongs to that shard's inputs: copied as it is.
    out.groups[name] = having.size() == 1 ? *having[0].node
                                          : combine_at(having, rules, where + "/" + name, {}, prefix + name + "/");
  }
  for (const std::string& name : union_of_keys(parts, &Node::attrs)) {
    if (std::find(skip_attrs.begin(), skip_attrs.end(), name) != skip_attrs.end()) continue;
    const std::string here = where + " attribute " + name;
    const MergeRule* rule = prefix.empty() ? find_rule(rules.attributes, name) : nullptr;
    if (rule && rule->how == Combine::recompute) continue;
    std::vector<const AttrValue*> values;
    for (const Part& p : parts) {
      auto it = p.node->attrs.find(name);
      if (it == p.node->attrs.end()) fail(here, "is missing in " + p.label);
      values.push_back(&it->second);
    }
    out.attrs[name] = combine_attr(values, parts, rule ? rule->how : Combine::same, rule, here);
  }
  return out;
}

// --- a GroupView of a Node -------------------------------------------------

class NodeView : public GroupView {
 public:
  NodeView(const Node& root, std::string file, std::string root_path, std::vector<std::string> below)
      : root_(root), file_(std::move(file)), root_path_(std::move(root_path)), below_(std::move(below)) {
    node_ = &root_;
    for (const std::string& part : below_) {
      auto it = node_->groups.find(part);
      if (it == node_->groups.end()) throw MissingData(file_ + ": " + root_path_ + "/" + part + ": no such group");
      node_ = &it->second;
    }
  }
  std::string file() const override { return file_; }
  std::string path() const override {
    std::string out = root_path_;
    for (const std::string& part : below_) out += "/" + part;
    return out;
  }
  std::vector<std::string> datasets() const override {
    std::vector<std::string> out;
    for (const auto& [name, a] : node_->datasets) out.push_back(name);
    return out;
  }
  std::vector<std::string> groups() const override {
    std::vector<std::string> out;
    for (const auto& [name, g] : node_->groups) out.push_back(name);
    return out;
  }
  bool has_dataset(const std::string& name) const override { return node_->datasets.count(name) != 0; }
  bool has_group(const std::string& name) const override { return node_->groups.count(name) != 0; }
  DatasetShape shape(const std::string& name) const override {
    const Array& a = find(name);
    return {a.shape, a.dims, a.dtype, a.shape.size() == 1 && !a.dims.empty() && a.dims[0] == name};
  }
  ArrayView f64(const std::string& name) const override {
    const Array& a = find(name);
    if (a.is_string()) fail(file_ + ": " + path() + "/" + name, "is a string dataset, not numeric");
    return {name, a.shape, a.dims, a.numbers};
  }
  std::vector<std::string> strings(const std::string& name) const override {
    const Array& a = find(name);
    if (!a.is_string()) fail(file_ + ": " + path() + "/" + name, "is numeric, not a string dataset");
    return a.strings;
  }
  std::unique_ptr<GroupView> group(const std::string& name) const override {
    std::vector<std::string> parts = below_;
    std::string rest = name;
    if (!rest.empty() && rest[0] == '/') {
      if (rest.compare(0, root_path_.size(), root_path_) != 0)
        throw MissingData(file_ + ": " + name + ": outside the merged run " + root_path_);
      rest = rest.substr(root_path_.size());
      parts.clear();
    }
    std::size_t start = 0;
    while (start <= rest.size()) {
      const std::size_t slash = std::min(rest.find('/', start), rest.size());
      const std::string part = rest.substr(start, slash - start);
      start = slash + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) throw MissingData(file_ + ": " + path() + "/" + name + ": above the merged run");
        parts.pop_back();
      } else {
        parts.push_back(part);
      }
    }
    return std::make_unique<NodeView>(root_, file_, root_path_, parts);
  }
  std::vector<std::string> attr_names() const override {
    std::vector<std::string> out;
    for (const auto& [name, v] : node_->attrs) out.push_back(name);
    return out;
  }
  std::optional<AttrValue> attr(const std::string& name) const override {
    auto it = node_->attrs.find(name);
    if (it == node_->attrs.end()) return std::nullopt;
    return it->second;
  }

 private:
  const Array& find(const std::string& name) const {
    auto it = node_->datasets.find(name);
    if (it == node_->datasets.end()) throw MissingData(file_ + ": " + path() + "/" + name + ": no such dataset");
    return it->second;
  }
  const Node& root_;
  std::string file_, root_path_;
  std::vector<std::string> below_;
  const Node* node_ = nullptr;
};

template <typename T>
void write_as(ResultGroup& out, const std::string& name, const Array& a, ElementType type) {
  std::vector<T> buffer(a.numbers.begin(), a.numbers.end());
  out.write(name, ArrayRef{type, a.shape, buffer.data()}, a.dims);
}

}  // namespace

Node read_tree(const GroupView& group) {
  Node node;
  for (const std::string& name : group.datasets()) {
    const DatasetShape s = group.shape(name);
    Array a;
    a.dtype = s.dtype;
    a.shape = s.shape;
    a.dims = s.dims;
    if (s.dtype == "string") a.strings = group.strings(name);
    else a.numbers = group.f64(name).values;
    node.datasets[name] = std::move(a);
  }
  for (const std::string& name : group.attr_names())
    if (auto v = group.attr(name)) node.attrs[name] = *v;
  for (const std::string& name : group.groups()) node.groups[name] = read_tree(*group.group(name));
  return node;
}

Node combine(const std::vector<Part>& parts, const MergeRules& rules, const std::string& where,
             const std::vector<std::string>& skip_attrs) {
  return combine_at(parts, rules, where, skip_attrs, "");
}

void write_tree(const Node& node, ResultGroup& out) {
  for (const auto& [name, a] : node.datasets) {
    if (a.is_string()) {
      if (a.shape.size() == 1 && a.dims.size() == 1) out.write_strings(name, a.strings, a.dims[0]);
      else out.write_strings(name, a.strings, a.shape, a.dims);
    } else if (a.dtype == "float32") {
      write_as<float>(out, name, a, ElementType::f32);
    } else if (a.dtype == "float64") {
      write_as<double>(out, name, a, ElementType::f64);
    } else if (a.dtype == "int64") {
      write_as<std::int64_t>(out, name, a, ElementType::i64);
    } else if (a.dtype == "int32") {
      write_as<std::int32_t>(out, name, a, ElementType::i32);
    } else if (a.dtype == "uint8") {
      write_as<std::uint8_t>(out, name, a, ElementType::u8);
    } else {
      fail(out.path() + "/" + name, "element type " + a.dtype + " is not one the store writes; cannot merge it");
    }
  }
  for (const auto& [name, v] : node.attrs) out.set_attr(name, v);
  for (const auto& [name, child] : node.groups) {
    std::unique_ptr<ResultGroup> g = out.group(name);
    write_tree(child, *g);
  }
}

std::unique_ptr<GroupView> view_of(const Node& root, const std::string& file, const std::string& root_path,
                                   const std::vector<std::string>& below) {
  return std::make_unique<NodeView>(root, file, root_path, below);
}

}  // namespace mechlens::host::merging
