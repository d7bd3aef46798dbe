#include "store/verify.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "mechlens/error.hpp"
#include "store/hdf5_handles.hpp"

namespace mechlens::store {

namespace {

// Datasets are read in slabs along their first axis of at most this many bytes.
constexpr std::size_t kSlabBytes = std::size_t{64} << 20;

// The caller's progress callback for the walk in progress (one walk at a time per thread).
thread_local const VerifyProgress* tl_progress = nullptr;
void progress(const std::string& object) {
  if (tl_progress && *tl_progress) (*tl_progress)(object);
}

// Runs `step`; a failure becomes one problem line instead of ending the walk.
bool attempt(VerifyReport& report, const std::function<void()>& step) {
  try {
    step();
    return true;
  } catch (const std::exception& e) {
    report.problems.push_back(e.what());
  }
  return false;
}

bool has_variable_length(hid_t type) {
  return H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0;
}

bool has_fletcher32(hid_t dataset, const h5::Where& where) {
  h5::Id dcpl = h5::plist_handle(H5Dget_create_plist(dataset), where, "cannot read the creation properties");
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t count = 0;
    char name[32];
    if (H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &count, nullptr, sizeof name, name, &config) ==
        H5Z_FILTER_FLETCHER32)
      return true;
  }
  return false;
}

void read_attribute(hid_t obj, const std::string& name, const h5::Where& where) {
  const h5::Where w{where.file, where.object + " (attribute " + name + ")"};
  progress(w.object);
  h5::Id attr = h5::attribute_handle(H5Aopen(obj, name.c_str(), H5P_DEFAULT), w, "cannot open");
  h5::Id type = h5::type_handle(H5Aget_type(attr.get()), w, "cannot read the type");
  h5::Id memory = h5::type_handle(H5Tget_native_type(type.get(), H5T_DIR_DEFAULT), w, "cannot map the type");
  h5::Id space = h5::space_handle(H5Aget_space(attr.get()), w, "cannot read the dataspace");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<unsigned char> buffer(static_cast<std::size_t>(std::max<hssize_t>(n, 1)) * H5Tget_size(memory.get()));
  h5::check_status(H5Aread(attr.get(), memory.get(), buffer.data()), w, "cannot read");
  if (has_variable_length(memory.get())) H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, buffer.data());
}

void read_dataset(hid_t dataset, const h5::Where& w) {
  h5::Id type = h5::type_handle(H5Dget_type(dataset), w, "cannot read the element type");
  h5::Id memory = h5::type_handle(H5Tget_native_type(type.get(), H5T_DIR_DEFAULT), w, "cannot map the element type");
  h5::Id space = h5::space_handle(H5Dget_space(dataset), w, "cannot read the dataspace");
  const std::vector<std::int64_t> shape = h5::space_shape(space.get(), w);
  const std::size_t element = H5Tget_size(memory.get());
  const bool vlen = has_variable_length(memory.get());
  if (shape.empty()) {  // scalar
    std::vector<unsigned char> buffer(element);
    h5::check_status(H5Dread(dataset, memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), w, "cannot read");
    if (vlen) H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, buffer.data());
    return;
  }
  std::size_t row_elements = 1;
  for (std::size_t a = 1; a < shape.size(); ++a) row_elements *= static_cast<std::size_t>(shape[a]);
  if (shape[0] == 0 || row_elements == 0) return;
  const std::size_t row_bytes = row_elements * element;
  const auto rows = static_cast<hsize_t>(std::max<std::size_t>(1, kSlabBytes / row_bytes));
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  for (hsize_t first = 0; first < static_cast<hsize_t>(shape[0]); first += rows) {
    start[0] = first;
    progress(w.object + " rows " + std::to_string(first));
    count[0] = std::min<hsize_t>(rows, static_cast<hsize_t>(shape[0]) - first);
    h5::check_status(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                     w, "cannot select rows");
    h5::Id slab = h5::space_handle(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), w,
                                   "cannot create a dataspace");
    std::vector<unsigned char> buffer(static_cast<std::size_t>(count[0]) * row_bytes);
    h5::check_status(H5Dread(dataset, memory.get(), slab.get(), space.get(), H5P_DEFAULT, buffer.data()), w,
                     "cannot read rows " + std::to_string(first) + ".." + std::to_string(first + count[0] - 1));
    if (vlen) H5Dvlen_reclaim(memory.get(), slab.get(), H5P_DEFAULT, buffer.data());
  }
}

void read_attributes(VerifyReport& report, hid_t obj, const h5::Where& where) {
  std::vector<std::string> names;
  attempt(report, [&] {
    H5O_info_t info;
    h5::check_status(H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS), where, "cannot read the attribute count");
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
      const ssize_t length = H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      std::string name(static_cast<std::size_t>(std::max<ssize_t>(length, 0)), '\0');
      if (length < 0 ||
          H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT) < 0)
        where.fail("cannot read the name of attribute " + std::to_string(i));
      names.push_back(name);
    }
  });
  for (const auto& name : names)
    if (attempt(report, [&] { read_attribute(obj, name, where); })) ++report.attributes;
}

void walk(VerifyReport& report, hid_t group, const h5::Where& where) {
  progress(where.object);
  ++report.groups;
  read_attributes(report, group, where);
  std::vector<std::string> names;
  if (!attempt(report, [&] { names = h5::child_names(group, where); })) return;
  for (const auto& name : names) {
    const h5::Where here = where.child(name);
    progress(here.object);
    h5::ObjectKind kind = h5::ObjectKind::other;
    if (!attempt(report, [&] { kind = h5::child_kind(group, name, where); })) continue;
    if (kind == h5::ObjectKind::group) {
      h5::Id sub;
      if (attempt(report, [&] {
            sub = h5::group_handle(H5Gopen2(group, name.c_str(), H5P_DEFAULT), here, "cannot open group");
          }))
        walk(report, sub.get(), here);
    } else if (kind == h5::ObjectKind::dataset) {
      h5::Id dataset;
      if (!attempt(report, [&] {
            dataset = h5::dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), here, "cannot open dataset");
          }))
        continue;
      read_attributes(report, dataset.get(), here);
      bool checksummed = false;
      if (attempt(report, [&] {
            checksummed = has_fletcher32(dataset.get(), here);
            read_dataset(dataset.get(), here);
          })) {
        ++report.datasets;
        if (checksummed) ++report.checksummed;
      }
    }
  }
}

}  // namespace

VerifyReport verify_archive(const std::string& path, const VerifyProgress& callback) {
  tl_progress = &callback;
  struct Reset {
    ~Reset() { tl_progress = nullptr; }
  } reset;
  h5::quiet();
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  VerifyReport report;
  const h5::Where root{path, "/"};
  h5::Id file, top;
  const bool opened = attempt(report, [&] {
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      const std::string reason = h5::error_stack_text();
      fail(path, "not a readable HDF5 file (truncated, or not HDF5)" + (reason.empty() ? "" : " (HDF5: " + reason + ")"));
    }
    h5::Id fapl = h5::file_access(root);
    file = h5::file_handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), root, "cannot open the archive");
    top = h5::group_handle(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open the root group");
  });
  if (opened) walk(report, top.get(), root);
  return report;
}

}  // namespace mechlens::store
