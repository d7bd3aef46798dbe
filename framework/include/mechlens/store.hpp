#pragma once
// The result archive as a plugin sees it: a group scoped to one analysis of
// one run. Datasets carry named dimensions (a `dims` attribute, plus HDF5
// dimension scales where a coordinate is given) so h5py users need no code
// of ours. Torch-free: see tensor_store.hpp for at::Tensor convenience.
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace mechlens {

enum class ElementType { f32, f64, i64, i32, u8 };

struct ArrayRef {
  ElementType type = ElementType::f32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;  // C order, contiguous
};

using AttrValue = std::variant<std::string, std::int64_t, double, std::vector<std::int64_t>,
                               std::vector<double>, std::vector<std::string>>;

class ResultGroup {
 public:
  virtual ~ResultGroup() = default;
  virtual std::string path() const = 0;  // "/runs/run_0001/analyses/sensitivity_matrix"

  // `dims` names each axis (size must equal the rank). A dataset of the same
  // name is replaced, so a unit redone after a crash simply writes again.
  // A 1-D dataset named like its only dim is a coordinate (dimension scale);
  // rules in schemas/results.md.
  virtual void write(const std::string& name, const ArrayRef& array,
                     const std::vector<std::string>& dims) = 0;
  virtual void write_strings(const std::string& name, const std::vector<std::string>& values,
                             const std::string& dim) = 0;
  // Strings of any shape (row-major `values`, one per element), e.g. the
  // top-k tokens [input, layer_entry, pos, k] of the logit lens.
  virtual void write_strings(const std::string& name, const std::vector<std::string>& values,
                             const std::vector<std::int64_t>& shape, const std::vector<std::string>& dims) = 0;
  virtual void set_attr(const std::string& name, const AttrValue& value) = 0;
  // Object (dataset or attribute) name on this group.
  virtual bool has(const std::string& name) const = 0;
  virtual std::unique_ptr<ResultGroup> group(const std::string& name) = 0;

  // Resume support: a unit (e.g. one input) is marked done once all its
  // datasets are written (the file is flushed then); a resumed run skips
  // units already done.
  virtual bool unit_done(const std::string& unit) const = 0;
  virtual void mark_unit_done(const std::string& unit) = 0;
  // Reads back a dataset written earlier (float64), e.g. to resume a sweep.
  virtual std::vector<double> read_f64(const std::string& name) const = 0;
};

}  // namespace mechlens
