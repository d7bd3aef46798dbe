#pragma once
// ResultGroup on an HDF5 group. Groups hold the file by shared pointer and
// open their HDF5 group per operation, so no HDF5 id outlives an operation
// and the run writer can close the file (and rename it) at any time; a group
// used after that fails with a message instead of writing to a stale file.
#include <memory>
#include <string>

#include "mechlens/store.hpp"
#include "store/hdf5_handles.hpp"

namespace mechlens::store {

struct OpenFile {
  h5::Id file;
  std::string path;  // for messages: the file actually written (the `.partial`)
  hid_t id() const;  // throws once the file is closed
  void flush() const;
};

class Hdf5Group : public ResultGroup {
 public:
  Hdf5Group(std::shared_ptr<OpenFile> file, std::string path);

  std::string path() const override { return path_; }
  void write(const std::string& name, const ArrayRef& array, const std::vector<std::string>& dims) override;
  void write_strings(const std::string& name, const std::vector<std::string>& values,
                     const std::string& dim) override;
  void write_strings(const std::string& name, const std::vector<std::string>& values,
                     const std::vector<std::int64_t>& shape, const std::vector<std::string>& dims) override;
  void set_attr(const std::string& name, const AttrValue& value) override;
  bool has(const std::string& name) const override;
  std::unique_ptr<ResultGroup> group(const std::string& name) override;
  bool unit_done(const std::string& unit) const override;
  void mark_unit_done(const std::string& unit) override;
  std::vector<double> read_f64(const std::string& name) const override;

  // The dataset that lists finished units (one string per unit, in the order done).
  static constexpr const char* kUnitsDataset = "_units_done";

 private:
  h5::Id open() const;
  h5::Where where() const { return {file_->path, path_}; }

  std::shared_ptr<OpenFile> file_;
  std::string path_;
};

// Opens `path` in the file, creating it (and missing parents) if needed.
h5::Id open_or_create_group(hid_t file, const std::string& path, const h5::Where& where);

}  // namespace mechlens::store
