// Read-only views of archive groups: what `mechlens report` and the plugins'
// report functions draw from. A missing dataset or group is MissingData.
#include "store/archive_view.hpp"

#include <filesystem>

#include "store/archive_format.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_datasets.hpp"
#include "store/hdf5_group.hpp"
#include "store/hdf5_scales.hpp"

namespace mechlens::store {

namespace {

struct ViewedFile {
  h5::Id file;
};

class Hdf5GroupView : public GroupView {
 public:
  Hdf5GroupView(std::shared_ptr<ViewedFile> file, h5::Id group, h5::Where where)
      : file_(std::move(file)), group_(std::move(group)), where_(std::move(where)) {}

  std::string file() const override { return where_.file; }
  std::string path() const override { return where_.object; }

  std::vector<std::string> datasets() const override {
    std::vector<std::string> out;
    for (const auto& name : h5::child_names(group_.get(), where_)) {
      if (name == Hdf5Group::kUnitsDataset) continue;
      if (h5::child_kind(group_.get(), name, where_) != h5::ObjectKind::dataset) continue;
      if (dimension_only(name)) continue;
      out.push_back(name);
    }
    return out;
  }
  std::vector<std::string> groups() const override {
    std::vector<std::string> out;
    for (const auto& name : h5::child_names(group_.get(), where_))
      if (h5::child_kind(group_.get(), name, where_) == h5::ObjectKind::group) out.push_back(name);
    return out;
  }
  bool has_dataset(const std::string& name) const override {
    return h5::link_exists(group_.get(), name, where_) &&
           h5::child_kind(group_.get(), name, where_) == h5::ObjectKind::dataset;
  }
  bool has_group(const std::string& name) const override {
    try {
      group(name);
      return true;
    } catch (const MissingData&) {
      return false;
    }
  }

  DatasetShape shape(const std::string& name) const override {
    require(name);
    const h5::DatasetInfo info = h5::dataset_info(group_.get(), where_, name);
    return {info.shape, info.dims, info.dtype, info.is_scale};
  }
  ArrayView f64(const std::string& name) const override {
    require(name);
    ArrayView out;
    out.name = name;
    const h5::DatasetInfo info = h5::dataset_info(group_.get(), where_, name);
    if (info.dtype == "string") fail(where_.file + ": " + where_.child(name).object, "holds strings, not numbers");
    out.values = h5::read_f64(group_.get(), where_, name, &out.shape);
    out.dims = info.dims;
    out.dims.resize(out.shape.size());
    return out;
  }
  std::vector<std::string> strings(const std::string& name) const override {
    require(name);
    return h5::read_strings(group_.get(), where_, name);
  }
  std::unique_ptr<GroupView> group(const std::string& name) const override {
    // Resolved to a path from the root ("..", absolute paths), then opened one component at a time.
    std::vector<std::string> parts;
    const std::string full = name.rfind('/', 0) == 0 ? name : where_.object + "/" + name;
    std::size_t start = 0;
    while (start <= full.size()) {
      const std::size_t end = std::min(full.find('/', start), full.size());
      const std::string part = full.substr(start, end - start);
      start = end + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) throw MissingData(where_.file + ": " + where_.object + ": '" + name + "' leaves the file");
        parts.pop_back();
      } else {
        parts.push_back(part);
      }
    }
    h5::Where where{where_.file, "/"};
    h5::Id current = h5::group_handle(H5Gopen2(file_->file.get(), "/", H5P_DEFAULT), where, "cannot open group");
    for (const auto& part : parts) {
      if (!h5::link_exists(current.get(), part, where) || h5::child_kind(current.get(), part, where) != h5::ObjectKind::group)
        throw MissingData(where.file + ": " + where.child(part).object + ": no such group");
      const h5::Where next = where.child(part);
      current = h5::group_handle(H5Gopen2(current.get(), part.c_str(), H5P_DEFAULT), next, "cannot open group");
      where = next;
    }
    return std::make_unique<Hdf5GroupView>(file_, std::move(current), where);
  }

  std::vector<std::string> attr_names() const override { return h5::attr_names(group_.get(), where_); }
  std::optional<AttrValue> attr(const std::string& name) const override {
    if (!h5::has_attr(group_.get(), name, where_)) return std::nullopt;
    return h5::read_attr(group_.get(), name, where_);
  }

 private:
  void require(const std::string& name) const {
    if (!has_dataset(name)) throw MissingData(where_.file + ": " + where_.child(name).object + ": no such dataset");
  }
  bool dimension_only(const std::string& name) const {
    const h5::Where w = where_.child(name);
    h5::Id dataset = h5::dataset_handle(H5Dopen2(group_.get(), name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
    return h5::is_dimension_only(dataset.get(), w);
  }

  std::shared_ptr<ViewedFile> file_;
  h5::Id group_;
  h5::Where where_;
};

}  // namespace

std::unique_ptr<GroupView> open_archive_view(const std::string& archive_path) {
  h5::quiet();
  if (!std::filesystem::exists(archive_path)) {
    if (std::filesystem::exists(archive_path + kPartialSuffix))
      fail(archive_path, "no such file, but '" + archive_path + kPartialSuffix +
                             "' holds an unfinished run: finish it with --resume first");
    fail(archive_path, "no such file");
  }
  const htri_t is_hdf5 = H5Fis_hdf5(archive_path.c_str());
  h5::error_stack_text();
  if (is_hdf5 <= 0) fail(archive_path, "not an HDF5 file");
  const h5::Where root{archive_path, "/"};
  auto file = std::make_shared<ViewedFile>();
  h5::Id fapl = h5::file_access(root);
  file->file = h5::file_handle(H5Fopen(archive_path.c_str(), H5F_ACC_RDONLY, fapl.get()), root,
                               "cannot open the archive");
  h5::Id top = h5::group_handle(H5Gopen2(file->file.get(), "/", H5P_DEFAULT), root, "cannot open the root group");
  return std::make_unique<Hdf5GroupView>(file, std::move(top), root);
}

}  // namespace mechlens::store
