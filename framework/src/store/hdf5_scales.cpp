#include "store/hdf5_scales.hpp"

#include <hdf5_hl.h>

#include "store/hdf5_attributes.hpp"

namespace mechlens::store::h5 {

namespace {

struct Opened {
  Id dataset;
  std::vector<std::int64_t> shape;
  std::vector<std::string> dims;
  bool is_scale = false;
};

Opened open_dataset(hid_t group, const Where& where, const std::string& name) {
  Opened d;
  const Where w = where.child(name);
  d.dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id space = space_handle(H5Dget_space(d.dataset.get()), w, "cannot read the dataspace");
  d.shape = space_shape(space.get(), w);
  d.dims = axis_names(d.dataset.get(), w);
  const htri_t scale = H5DSis_scale(d.dataset.get());
  if (scale < 0) w.fail("cannot tell whether this is a dimension scale");
  d.is_scale = scale > 0;
  return d;
}

bool is_coordinate(const Opened& d, const std::string& name) {
  return d.shape.size() == 1 && d.dims.size() == 1 && d.dims[0] == name;
}

std::vector<std::string> sibling_datasets(hid_t group, const Where& where, const std::string& except) {
  std::vector<std::string> out;
  for (const auto& child : child_names(group, where))
    if (child != except && child_kind(group, child, where) == ObjectKind::dataset) out.push_back(child);
  return out;
}

}  // namespace

void name_axes(hid_t dataset, const std::vector<std::string>& dims, const Where& where) {
  write_attr(dataset, "dims", dims, where);
  for (std::size_t i = 0; i < dims.size(); ++i)
    check_status(H5DSset_label(dataset, static_cast<unsigned>(i), dims[i].c_str()), where,
                 "cannot set the label of axis " + std::to_string(i));
}

std::vector<std::string> axis_names(hid_t dataset, const Where& where) {
  if (has_attr(dataset, "dims", where)) return strings_attr(dataset, "dims", where);
  Id space = space_handle(H5Dget_space(dataset), where, "cannot read the dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<std::string> labels;
  bool any = false;
  for (int i = 0; i < rank; ++i) {
    char buffer[256] = {0};
    const ssize_t n = H5DSget_label(dataset, static_cast<unsigned>(i), buffer, sizeof buffer);
    if (n < 0) {
      error_stack_text();  // no labels at all: not an error for a foreign file
      return {};
    }
    any = any || n > 0;
    labels.emplace_back(buffer);
  }
  return any ? labels : std::vector<std::string>{};
}

void link_scales(hid_t group, const Where& where, const std::string& name) {
  Opened written = open_dataset(group, where, name);
  const Where w = where.child(name);
  if (is_coordinate(written, name)) {
    if (!written.is_scale)
      check_status(H5DSset_scale(written.dataset.get(), name.c_str()), w, "cannot make a dimension scale");
    for (const auto& other_name : sibling_datasets(group, where, name)) {
      Opened other = open_dataset(group, where, other_name);
      if (other.is_scale) continue;  // HDF5 forbids attaching a scale to a scale
      for (std::size_t i = 0; i < other.dims.size() && i < other.shape.size(); ++i)
        if (other.dims[i] == name && other.shape[i] == written.shape[0])
          check_status(H5DSattach_scale(other.dataset.get(), written.dataset.get(), static_cast<unsigned>(i)),
                       where.child(other_name), "cannot attach dimension scale '" + name + "'");
    }
    return;
  }
  if (written.is_scale) return;
  for (std::size_t i = 0; i < written.dims.size() && i < written.shape.size(); ++i) {
    const std::string& dim = written.dims[i];
    if (dim == name || !link_exists(group, dim, where) || child_kind(group, dim, where) != ObjectKind::dataset)
      continue;
    Opened coordinate = open_dataset(group, where, dim);
    if (coordinate.is_scale && is_coordinate(coordinate, dim) && coordinate.shape[0] == written.shape[i])
      check_status(H5DSattach_scale(written.dataset.get(), coordinate.dataset.get(), static_cast<unsigned>(i)), w,
                   "cannot attach dimension scale '" + dim + "'");
  }
}

void unlink_scales(hid_t group, const Where& where, const std::string& name) {
  Opened doomed = open_dataset(group, where, name);
  if (doomed.is_scale) {
    for (const auto& other_name : sibling_datasets(group, where, name)) {
      Opened other = open_dataset(group, where, other_name);
      if (other.is_scale) continue;
      for (std::size_t i = 0; i < other.shape.size(); ++i) {
        const htri_t attached = H5DSis_attached(other.dataset.get(), doomed.dataset.get(), static_cast<unsigned>(i));
        if (attached < 0) where.child(other_name).fail("cannot check dimension scale '" + name + "'");
        if (attached > 0)
          check_status(H5DSdetach_scale(other.dataset.get(), doomed.dataset.get(), static_cast<unsigned>(i)),
                       where.child(other_name), "cannot detach dimension scale '" + name + "'");
      }
    }
    return;
  }
  for (std::size_t i = 0; i < doomed.dims.size() && i < doomed.shape.size(); ++i) {
    const std::string& dim = doomed.dims[i];
    if (!link_exists(group, dim, where) || child_kind(group, dim, where) != ObjectKind::dataset) continue;
    Opened coordinate = open_dataset(group, where, dim);
    if (!coordinate.is_scale) continue;
    const htri_t attached = H5DSis_attached(doomed.dataset.get(), coordinate.dataset.get(), static_cast<unsigned>(i));
    if (attached < 0) where.child(name).fail("cannot check dimension scale '" + dim + "'");
    if (attached > 0)
      check_status(H5DSdetach_scale(doomed.dataset.get(), coordinate.dataset.get(), static_cast<unsigned>(i)),
                   where.child(name), "cannot detach dimension scale '" + dim + "'");
  }
}

}  // namespace mechlens::store::h5
