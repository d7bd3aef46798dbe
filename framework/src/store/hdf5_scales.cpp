#include "store/hdf5_scales.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "mechlens/error.hpp"

#include "store/hdf5_attributes.hpp"

namespace mechlens::store::h5 {

namespace {

struct Opened {
  Id dataset;
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<bool> growable;  // per axis: maximum size unlimited
  std::vector<std::string> dims;
  bool is_scale = false;
  bool dimension_only = false;
};

Opened open_dataset(hid_t group, const Where& where, const std::string& name) {
  Opened d;
  d.name = name;
  const Where w = where.child(name);
  d.dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id space = space_handle(H5Dget_space(d.dataset.get()), w, "cannot read the dataspace");
  d.shape = space_shape(space.get(), w);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank > 0) {
    std::vector<hsize_t> extents(static_cast<std::size_t>(rank)), maximum(static_cast<std::size_t>(rank));
    if (H5Sget_simple_extent_dims(space.get(), extents.data(), maximum.data()) < 0)
      w.fail("cannot read the dataspace");
    for (hsize_t m : maximum) d.growable.push_back(m == H5S_UNLIMITED);
  }
  d.dims = axis_names(d.dataset.get(), w);
  const htri_t scale = H5DSis_scale(d.dataset.get());
  if (scale < 0) w.fail("cannot tell whether this is a dimension scale");
  d.is_scale = scale > 0;
  d.dimension_only = d.is_scale && is_dimension_only(d.dataset.get(), w);
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

// The datasets of `group` (but those in `except`) with an axis named `dim`,
// and that axis's length.
std::vector<std::pair<std::string, std::int64_t>> users_of(hid_t group, const Where& where, const std::string& dim,
                                                           const std::vector<std::string>& except) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& other : sibling_datasets(group, where, "")) {
    if (std::find(except.begin(), except.end(), other) != except.end()) continue;
    const Opened d = open_dataset(group, where, other);
    for (std::size_t i = 0; i < d.dims.size() && i < d.shape.size(); ++i)
      if (d.dims[i] == dim) {
        out.emplace_back(other, d.shape[i]);
        break;
      }
  }
  return out;
}

[[noreturn]] void refuse(const Where& where, const std::string& what) {
  mechlens::fail(where.file + ": " + where.object, what);
}

[[noreturn]] void refuse_length(const Where& where, const std::string& dim, hsize_t length, const std::string& other,
                                std::int64_t other_length) {
  refuse(where, "dimension '" + dim + "' would have length " + std::to_string(length) + " here but has length " +
                    std::to_string(other_length) + " in " + other +
                    " of the same group; netCDF readers (xarray) need one length per dimension name in a group: "
                    "name one of the axes differently (e.g. k_pos beside q_pos) or write into a sub-group");
}

// netCDF-4's dimension without a variable: a 1-D float scale that is never
// written (so takes no space), named for readers by kDimensionOnlyScale.
void create_dimension_only(hid_t group, const Where& where, const std::string& dim, std::int64_t length,
                           bool growable) {
  const Where w = where.child(dim);
  const hsize_t extent = static_cast<hsize_t>(length), unlimited = H5S_UNLIMITED, chunk = 64;
  Id space = space_handle(H5Screate_simple(1, &extent, growable ? &unlimited : nullptr), w,
                          "cannot create a dataspace");
  Id dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), w, "cannot create dataset properties");
  if (growable) check_status(H5Pset_chunk(dcpl.get(), 1, &chunk), w, "cannot set chunks");
  Id scale = dataset_handle(
      H5Dcreate2(group, dim.c_str(), H5T_IEEE_F32BE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), w,
      "cannot create the dimension");
  char scale_name[96];
  std::snprintf(scale_name, sizeof scale_name, "%s%10lld", kDimensionOnlyScale, static_cast<long long>(length));
  check_status(H5DSset_scale(scale.get(), scale_name), w, "cannot make a dimension scale");
  name_axes(scale.get(), {dim}, w);
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

bool is_dimension_only(hid_t dataset, const Where& where) {
  if (H5DSis_scale(dataset) <= 0) return false;
  const ssize_t size = H5DSget_scale_name(dataset, nullptr, 0);
  if (size < 0) where.fail("cannot read the dimension scale's name");
  std::string name(static_cast<std::size_t>(size) + 1, '\0');
  if (size > 0 && H5DSget_scale_name(dataset, name.data(), name.size()) < 0)
    where.fail("cannot read the dimension scale's name");
  return name.rfind(kDimensionOnlyScale, 0) == 0;
}

void check_dimensions(hid_t group, const Where& where, const std::string& name, const std::vector<std::string>& dims,
                      const std::vector<hsize_t>& shape) {
  const Where w = where.child(name);
  for (std::size_t i = 0; i < dims.size() && i < shape.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (dims[i] == dims[j] && shape[i] != shape[j])
        refuse(w, "names two axes '" + dims[i] + "' but they have lengths " + std::to_string(shape[j]) + " and " +
                      std::to_string(shape[i]) + "; a dimension has one length");
  const bool coordinate = shape.size() == 1 && dims.size() == 1 && dims[0] == name;
  if (!coordinate) {
    if (std::find(dims.begin(), dims.end(), name) != dims.end())
      refuse(w, "has an axis named like itself, '" + name + "', but is not that dimension's coordinate (a 1-D "
                "dataset with dims = ['" + name + "']); rename the dataset or the axis");
    if (link_exists(group, name, where) && child_kind(group, name, where) == ObjectKind::dataset &&
        open_dataset(group, where, name).is_scale) {
      const auto users = users_of(group, where, name, {name});
      if (!users.empty())
        refuse(w, "would replace the scale of dimension '" + name + "', which dataset '" + users[0].first +
                      "' uses; a dataset named like a dimension must be its coordinate (1-D, dims = ['" + name +
                      "']): rename the dataset");
    }
  }
  for (std::size_t i = 0; i < dims.size() && i < shape.size(); ++i) {
    const std::string& dim = dims[i];
    if (dim == name) {  // a coordinate: every dataset of the group using its dim must agree
      for (const auto& [other, length] : users_of(group, where, dim, {name}))
        if (static_cast<hsize_t>(length) != shape[i]) refuse_length(w, dim, shape[i], "dataset '" + other + "'", length);
      continue;
    }
    if (!link_exists(group, dim, where)) continue;
    if (child_kind(group, dim, where) != ObjectKind::dataset)
      refuse(w, "has a dimension '" + dim + "', but '" + dim + "' in this group is not a dataset; netCDF readers "
                "(xarray) need that name for the dimension: rename one of them");
    Opened scale = open_dataset(group, where, dim);
    if (!is_coordinate(scale, dim))
      refuse(w, "has a dimension '" + dim + "', but dataset '" + dim + "' of this group is not that dimension's "
                "coordinate (a 1-D dataset with dims = ['" + dim + "']); netCDF readers (xarray) need that name for "
                "the dimension: rename one of them");
    if (static_cast<hsize_t>(scale.shape[0]) == shape[i]) continue;
    if (!scale.dimension_only) refuse_length(w, dim, shape[i], "its coordinate '" + dim + "'", scale.shape[0]);
    const auto users = users_of(group, where, dim, {name, dim});
    if (!users.empty()) refuse_length(w, dim, shape[i], "dataset '" + users[0].first + "'", users[0].second);
    // Only the dataset being replaced used it: drop it, link_scales makes it anew.
    scale.dataset.reset();
    unlink_scales(group, where, dim);
    check_status(H5Ldelete(group, dim.c_str(), H5P_DEFAULT), where.child(dim), "cannot delete the old dimension");
  }
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
        if (other.dims[i] == name && other.shape[i] == written.shape[0] &&
            H5DSis_attached(other.dataset.get(), written.dataset.get(), static_cast<unsigned>(i)) == 0)
          check_status(H5DSattach_scale(other.dataset.get(), written.dataset.get(), static_cast<unsigned>(i)),
                       where.child(other_name), "cannot attach dimension scale '" + name + "'");
    }
    return;
  }
  if (written.is_scale) return;
  for (std::size_t i = 0; i < written.dims.size() && i < written.shape.size(); ++i) {
    const std::string& dim = written.dims[i];
    if (dim == name) continue;
    if (!link_exists(group, dim, where))
      create_dimension_only(group, where, dim, written.shape[i], i < written.growable.size() && written.growable[i]);
    if (child_kind(group, dim, where) != ObjectKind::dataset) continue;
    Opened coordinate = open_dataset(group, where, dim);
    const Where cw = where.child(dim);
    if (coordinate.dimension_only && coordinate.growable.size() == 1 && coordinate.growable[0] &&
        coordinate.shape[0] < written.shape[i]) {  // _units_done grew: its dimension grows with it
      const hsize_t grown = static_cast<hsize_t>(written.shape[i]);
      check_status(H5Dset_extent(coordinate.dataset.get(), &grown), cw, "cannot grow the dimension");
      coordinate.shape[0] = written.shape[i];
    }
    if (!coordinate.is_scale || !is_coordinate(coordinate, dim) || coordinate.shape[0] != written.shape[i]) continue;
    const htri_t attached = H5DSis_attached(written.dataset.get(), coordinate.dataset.get(), static_cast<unsigned>(i));
    if (attached < 0) w.fail("cannot check dimension scale '" + dim + "'");
    if (attached == 0)
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
