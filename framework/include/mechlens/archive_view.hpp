#pragma once
// A read-only look at one group of a result archive, for a plugin's report
// section (plugin.hpp) and anything else that draws from an archive alone.
// Torch-free. Layout of the archive: schemas/results.md.
//
// Missing data is a value, not a crash: has_dataset() asks first; reading a
// dataset or group that is not there throws MissingData, whose message names
// the file and the full path (the report shows it in the section's place).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mechlens/error.hpp"
#include "mechlens/store.hpp"

namespace mechlens {

// "results.h5: /runs/run_0001/analyses/x/kl: no such dataset".
class MissingData : public Error {
 public:
  using Error::Error;
};

// A numeric dataset read as float64 (integers converted), C order.
struct ArrayView {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<std::string> dims;  // one per axis ("" where the archive names none)
  std::vector<double> values;
  std::int64_t size(std::size_t axis) const { return axis < shape.size() ? shape[axis] : 0; }
};

struct DatasetShape {
  std::vector<std::int64_t> shape;
  std::vector<std::string> dims;
  std::string dtype;  // "float64", "int64", "uint8", "string", ...
  bool is_coordinate = false;
};

class GroupView {
 public:
  virtual ~GroupView() = default;
  virtual std::string file() const = 0;
  virtual std::string path() const = 0;  // "/runs/run_0001/analyses/logit_lens"

  // Children in name order. Datasets leave out the store's own (`_units_done`)
  // and netCDF's dimension-only scales (they hold no values).
  virtual std::vector<std::string> datasets() const = 0;
  virtual std::vector<std::string> groups() const = 0;
  virtual bool has_dataset(const std::string& name) const = 0;
  virtual bool has_group(const std::string& name) const = 0;

  virtual DatasetShape shape(const std::string& name) const = 0;
  virtual ArrayView f64(const std::string& name) const = 0;
  // String datasets of any shape, row-major.
  virtual std::vector<std::string> strings(const std::string& name) const = 0;
  // `name` may be a path below this group ("grids/capital/crop_0"), go up
  // with ".." (an analysis group reaches its run's inputs as "../../inputs"),
  // or be absolute ("/runs/run_0001/inputs").
  virtual std::unique_ptr<GroupView> group(const std::string& name) const = 0;

  virtual std::vector<std::string> attr_names() const = 0;
  virtual std::optional<AttrValue> attr(const std::string& name) const = 0;

  // Conveniences: the attribute as that type, or `fallback` when absent or of another type.
  std::string text_attr(const std::string& name, const std::string& fallback = "") const {
    const auto v = attr(name);
    return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : fallback;
  }
  std::optional<double> number_attr(const std::string& name) const {
    const auto v = attr(name);
    if (!v) return std::nullopt;
    if (std::holds_alternative<double>(*v)) return std::get<double>(*v);
    if (std::holds_alternative<std::int64_t>(*v)) return static_cast<double>(std::get<std::int64_t>(*v));
    return std::nullopt;
  }
  std::vector<std::string> texts_attr(const std::string& name) const {
    const auto v = attr(name);
    return v && std::holds_alternative<std::vector<std::string>>(*v) ? std::get<std::vector<std::string>>(*v)
                                                                       : std::vector<std::string>{};
  }
};

}  // namespace mechlens
