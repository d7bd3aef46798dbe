#include "store/hdf5_datasets.hpp"

#include <hdf5_hl.h>

#include "mechlens/error.hpp"
#include "store/hdf5_attributes.hpp"
#include "store/hdf5_scales.hpp"

namespace mechlens::store::h5 {

namespace {

// Chunk shape for a large dataset: the whole array, halving leading axes
// until a chunk is at most kCompressAbove bytes, so a chunk holds whole rows
// where it can (readers slice along the leading axes).
std::vector<hsize_t> chunk_shape(const std::vector<hsize_t>& extents, std::size_t element_bytes) {
  std::vector<hsize_t> chunk = extents;
  auto bytes = [&] {
    std::size_t n = element_bytes;
    for (hsize_t c : chunk) n *= c;
    return n;
  };
  for (std::size_t axis = 0; axis < chunk.size() && bytes() > kCompressAbove;) {
    if (chunk[axis] <= 1) {
      ++axis;
      continue;
    }
    chunk[axis] = (chunk[axis] + 1) / 2;
  }
  return chunk;
}

// Every numeric dataset with data is chunked and carries HDF5's Fletcher32
// checksum (last in the filter pipeline, so it covers the stored bytes):
// a flipped or truncated chunk then fails to read, in h5py as here, instead of
// returning wrong numbers. Small datasets are one chunk; large ones are split
// (chunk_shape) and byte-shuffled + gzip-compressed first. Left contiguous and
// unchecked: scalars and empty arrays (HDF5 cannot chunk them) and
// variable-length strings (HDF5 refuses filters on them); their metadata is
// still checksummed by the 1.8 file format (file_access).
Id creation_properties(hid_t file_type, const std::vector<hsize_t>& extents, std::size_t element_bytes,
                       const Where& where) {
  Id dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), where, "cannot create dataset properties");
  std::size_t bytes = element_bytes;
  for (hsize_t e : extents) bytes *= e;
  if (extents.empty() || bytes == 0 || H5Tis_variable_str(file_type) > 0) return dcpl;
  const bool compress = bytes > kCompressAbove && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0;
  const std::vector<hsize_t> chunk = compress ? chunk_shape(extents, element_bytes) : extents;
  check_status(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), where, "cannot set chunks");
  if (compress) {
    // Byte shuffle before deflate: floats compress much better.
    check_status(H5Pset_shuffle(dcpl.get()), where, "cannot set the shuffle filter");
    check_status(H5Pset_deflate(dcpl.get(), kGzipLevel), where, "cannot set gzip compression");
  }
  check_status(H5Pset_fletcher32(dcpl.get()), where, "cannot set the Fletcher32 checksum");
  return dcpl;
}

std::vector<hsize_t> extents_of(const std::vector<std::int64_t>& shape, const Where& where) {
  std::vector<hsize_t> extents;
  for (std::int64_t s : shape) {
    if (s < 0) mechlens::fail(where.file + ": " + where.object, "negative extent in shape");
    extents.push_back(static_cast<hsize_t>(s));
  }
  return extents;
}

void check_dims(const std::vector<std::string>& dims, std::size_t rank, const Where& where) {
  if (dims.size() != rank)
    mechlens::fail(where.file + ": " + where.object, std::to_string(dims.size()) + " dimension names for a rank-" +
                                                         std::to_string(rank) + " array");
  for (const auto& d : dims) {
    if (d.empty()) mechlens::fail(where.file + ": " + where.object, "empty dimension name");
    check_utf8(d, where, "dimension name");
  }
}

// Creates (replacing) dataset `name` and writes `data` of `mem_type`.
void create_and_write(hid_t group, const Where& group_where, const std::string& name, hid_t file_type,
                      hid_t mem_type, std::size_t element_bytes, const std::vector<hsize_t>& extents,
                      const void* data, const std::vector<std::string>& dims) {
  const Where w = group_where.child(name);
  check_dimensions(group, group_where, name, dims, extents);  // before anything is replaced
  if (link_exists(group, name, group_where)) remove_dataset(group, group_where, name);
  Id space = make_space(extents, w);
  Id dcpl = creation_properties(file_type, extents, element_bytes, w);
  Id dataset = dataset_handle(
      H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), w,
      "cannot create dataset");
  std::size_t count = 1;
  for (hsize_t e : extents) count *= e;
  if (count > 0)
    check_status(H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), w, "cannot write dataset");
  name_axes(dataset.get(), dims, w);
  dataset.reset();
  link_scales(group, group_where, name);
}

}  // namespace

void remove_dataset(hid_t group, const Where& group_where, const std::string& name) {
  const Where w = group_where.child(name);
  if (child_kind(group, name, group_where) != ObjectKind::dataset)
    mechlens::fail(w.file + ": " + w.object, "exists and is not a dataset; cannot overwrite it");
  unlink_scales(group, group_where, name);
  check_status(H5Ldelete(group, name.c_str(), H5P_DEFAULT), w, "cannot delete the old dataset");
}

void write_array(hid_t group, const Where& group_where, const std::string& name, const ArrayRef& array,
                 const std::vector<std::string>& dims) {
  const Where w = group_where.child(name);
  check_name(name, group_where, "dataset");
  check_dims(dims, array.shape.size(), w);
  const std::vector<hsize_t> extents = extents_of(array.shape, w);
  std::size_t count = 1;
  for (hsize_t e : extents) count *= e;
  if (count > 0 && array.data == nullptr) mechlens::fail(w.file + ": " + w.object, "no data given");
  create_and_write(group, group_where, name, file_type(array.type), memory_type(array.type),
                   element_size(array.type), extents, array.data, dims);
}

void write_string_array(hid_t group, const Where& group_where, const std::string& name,
                        const std::vector<std::string>& values, const std::string& dim) {
  write_string_array(group, group_where, name, values, {static_cast<std::int64_t>(values.size())}, {dim});
}

void write_string_array(hid_t group, const Where& group_where, const std::string& name,
                        const std::vector<std::string>& values, const std::vector<std::int64_t>& shape,
                        const std::vector<std::string>& dims) {
  const Where w = group_where.child(name);
  check_name(name, group_where, "dataset");
  check_dims(dims, shape.size(), w);
  const std::vector<hsize_t> extents = extents_of(shape, w);
  std::size_t count = 1;
  for (hsize_t e : extents) count *= e;
  if (count != values.size())
    mechlens::fail(w.file + ": " + w.object, std::to_string(values.size()) + " strings for " + std::to_string(count) +
                                                 " elements");
  for (std::size_t i = 0; i < values.size(); ++i) check_utf8(values[i], w, "string " + std::to_string(i));
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  Id type = utf8_string_type(w);
  create_and_write(group, group_where, name, type.get(), type.get(), sizeof(char*), extents, pointers.data(), dims);
}

void append_string(hid_t group, const Where& group_where, const std::string& name, const std::string& value,
                   const std::string& dim) {
  const Where w = group_where.child(name);
  check_utf8(value, w, "string");
  Id type = utf8_string_type(w);
  if (!link_exists(group, name, group_where)) {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 64;
    Id space = space_handle(H5Screate_simple(1, &zero, &unlimited), w, "cannot create a dataspace");
    Id dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), w, "cannot create dataset properties");
    check_status(H5Pset_chunk(dcpl.get(), 1, &chunk), w, "cannot set chunks");
    Id created = dataset_handle(
        H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), w,
        "cannot create dataset");
    name_axes(created.get(), {dim}, w);
  }
  Id dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id old_space = space_handle(H5Dget_space(dataset.get()), w, "cannot read the dataspace");
  const std::vector<std::int64_t> shape = space_shape(old_space.get(), w);
  if (shape.size() != 1) mechlens::fail(w.file + ": " + w.object, "is not 1-D; cannot append");
  const hsize_t at = static_cast<hsize_t>(shape[0]), one = 1, grown = at + 1;
  check_status(H5Dset_extent(dataset.get(), &grown), w, "cannot grow dataset");
  Id space = space_handle(H5Dget_space(dataset.get()), w, "cannot read the dataspace");
  check_status(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &at, nullptr, &one, nullptr), w,
               "cannot select the new element");
  Id memory = make_space({1}, w);
  const char* pointer = value.c_str();
  check_status(H5Dwrite(dataset.get(), type.get(), memory.get(), space.get(), H5P_DEFAULT, &pointer), w,
               "cannot append");
  dataset.reset();
  link_scales(group, group_where, name);  // its (growable) dimension grows with it
}

std::vector<double> read_f64(hid_t group, const Where& group_where, const std::string& name,
                             std::vector<std::int64_t>* shape_out) {
  const Where w = group_where.child(name);
  if (!link_exists(group, name, group_where) || child_kind(group, name, group_where) != ObjectKind::dataset)
    mechlens::fail(w.file + ": " + w.object, "no such dataset");
  Id dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id type = type_handle(H5Dget_type(dataset.get()), w, "cannot read the element type");
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    mechlens::fail(w.file + ": " + w.object, "is not numeric; cannot read it as float64");
  Id space = space_handle(H5Dget_space(dataset.get()), w, "cannot read the dataspace");
  const std::vector<std::int64_t> shape = space_shape(space.get(), w);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<double> values(static_cast<std::size_t>(count < 0 ? 0 : count));
  if (!values.empty())
    check_status(H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), w,
                 "cannot read dataset");
  if (shape_out) *shape_out = shape;
  return values;
}

std::vector<std::string> read_strings(hid_t group, const Where& group_where, const std::string& name) {
  const Where w = group_where.child(name);
  if (!link_exists(group, name, group_where)) mechlens::fail(w.file + ": " + w.object, "no such dataset");
  Id dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id type = type_handle(H5Dget_type(dataset.get()), w, "cannot read the element type");
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0)
    mechlens::fail(w.file + ": " + w.object, "is not a variable-length string dataset");
  Id space = space_handle(H5Dget_space(dataset.get()), w, "cannot read the dataspace");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<char*> pointers(static_cast<std::size_t>(count < 0 ? 0 : count), nullptr);
  Id memory = type_handle(H5Tcopy(type.get()), w, "cannot copy the string type");
  std::vector<std::string> out;
  if (pointers.empty()) return out;
  check_status(H5Dread(dataset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), w,
               "cannot read dataset");
  for (char* p : pointers) {
    out.emplace_back(p ? p : "");
    if (p) H5free_memory(p);
  }
  return out;
}

namespace {
std::string dtype_name(hid_t type) {
  const std::size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum";
    case H5T_COMPOUND: return "compound";
    default: return "other";
  }
}
}  // namespace

DatasetInfo dataset_info(hid_t group, const Where& group_where, const std::string& name) {
  const Where w = group_where.child(name);
  DatasetInfo info;
  Id dataset = dataset_handle(H5Dopen2(group, name.c_str(), H5P_DEFAULT), w, "cannot open dataset");
  Id type = type_handle(H5Dget_type(dataset.get()), w, "cannot read the element type");
  Id space = space_handle(H5Dget_space(dataset.get()), w, "cannot read the dataspace");
  info.shape = space_shape(space.get(), w);
  info.dtype = dtype_name(type.get());
  info.dims = axis_names(dataset.get(), w);
  info.is_scale = H5DSis_scale(dataset.get()) > 0;
  return info;
}

}  // namespace mechlens::store::h5
