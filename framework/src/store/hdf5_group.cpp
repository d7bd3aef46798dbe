#include "store/hdf5_group.hpp"

#include <algorithm>

#include "mechlens/error.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_datasets.hpp"

namespace mechlens::store {

hid_t OpenFile::id() const {
  if (!file) fail(path, "the run is finished or closed; nothing more can be written to it");
  return file.get();
}

void OpenFile::flush() const {
  h5::check_status(H5Fflush(id(), H5F_SCOPE_GLOBAL), {path, "/"}, "cannot flush the file");
}

h5::Id open_or_create_group(hid_t file, const std::string& path, const h5::Where& where) {
  h5::Id group = h5::group_handle(H5Gopen2(file, "/", H5P_DEFAULT), {where.file, "/"}, "cannot open the root group");
  std::string walked;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const h5::Where parent{where.file, walked.empty() ? "/" : walked};
    walked += "/" + part;
    const h5::Where here{where.file, walked};
    if (h5::link_exists(group.get(), part, parent)) {
      if (h5::child_kind(group.get(), part, parent) != h5::ObjectKind::group)
        fail(where.file + ": " + walked, "exists and is not a group");
      group = h5::group_handle(H5Gopen2(group.get(), part.c_str(), H5P_DEFAULT), here, "cannot open group");
    } else {
      group = h5::group_handle(H5Gcreate2(group.get(), part.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), here,
                               "cannot create group");
    }
  }
  return group;
}

Hdf5Group::Hdf5Group(std::shared_ptr<OpenFile> file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}

h5::Id Hdf5Group::open() const {
  return h5::group_handle(H5Gopen2(file_->id(), path_.c_str(), H5P_DEFAULT), where(), "cannot open group");
}

void Hdf5Group::write(const std::string& name, const ArrayRef& array, const std::vector<std::string>& dims) {
  h5::Id g = open();
  h5::write_array(g.get(), where(), name, array, dims);
}

void Hdf5Group::write_strings(const std::string& name, const std::vector<std::string>& values,
                              const std::string& dim) {
  h5::Id g = open();
  h5::write_string_array(g.get(), where(), name, values, dim);
}

void Hdf5Group::write_strings(const std::string& name, const std::vector<std::string>& values,
                              const std::vector<std::int64_t>& shape, const std::vector<std::string>& dims) {
  h5::Id g = open();
  h5::write_string_array(g.get(), where(), name, values, shape, dims);
}

void Hdf5Group::set_attr(const std::string& name, const AttrValue& value) {
  h5::Id g = open();
  h5::write_attr(g.get(), name, value, where());
}

bool Hdf5Group::has(const std::string& name) const {
  h5::Id g = open();
  if (!name.empty() && name.find('/') == std::string::npos && h5::link_exists(g.get(), name, where())) return true;
  return !name.empty() && h5::has_attr(g.get(), name, where());
}

std::unique_ptr<ResultGroup> Hdf5Group::group(const std::string& name) {
  h5::check_name(name, where(), "group");
  const std::string child = path_ == "/" ? "/" + name : path_ + "/" + name;
  open_or_create_group(file_->id(), child, where());
  return std::make_unique<Hdf5Group>(file_, child);
}

bool Hdf5Group::unit_done(const std::string& unit) const {
  h5::Id g = open();
  if (!h5::link_exists(g.get(), kUnitsDataset, where())) return false;
  const std::vector<std::string> done = h5::read_strings(g.get(), where(), kUnitsDataset);
  return std::find(done.begin(), done.end(), unit) != done.end();
}

void Hdf5Group::mark_unit_done(const std::string& unit) {
  if (unit_done(unit)) return;
  {
    h5::Id g = open();
    h5::append_string(g.get(), where(), kUnitsDataset, unit, "unit");
  }
  // Flush after the mark: a crash from here on keeps the unit; a crash before
  // the flush loses at most this unit, which a resumed run redoes.
  file_->flush();
}

std::vector<double> Hdf5Group::read_f64(const std::string& name) const {
  h5::Id g = open();
  return h5::read_f64(g.get(), where(), name);
}

}  // namespace mechlens::store
