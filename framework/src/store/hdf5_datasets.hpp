#pragma once
// Datasets with named dimensions. Every dataset carries a `dims` attribute
// (one UTF-8 string per axis) and the same names as HDF5 dimension labels.
// A 1-D dataset whose name equals its only dim name is a coordinate: it
// becomes an HDF5 dimension scale and is attached to every dataset of the same
// group that has an axis of that name and the same length (whichever of the
// two is written first). Rules in schemas/results.md.
#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/store.hpp"
#include "store/hdf5_handles.hpp"

namespace mechlens::store::h5 {

// Datasets above this many bytes are chunked and gzip-compressed.
inline constexpr std::size_t kCompressAbove = std::size_t{1} << 20;
inline constexpr unsigned kGzipLevel = 4;

// `group_where` names the group `group` is. An existing dataset `name` is
// replaced (detached from its scales first, so no dangling references remain).
void write_array(hid_t group, const Where& group_where, const std::string& name, const ArrayRef& array,
                 const std::vector<std::string>& dims);
void write_string_array(hid_t group, const Where& group_where, const std::string& name,
                        const std::vector<std::string>& values, const std::string& dim);
// Strings of any shape (row-major values, one per element).
void write_string_array(hid_t group, const Where& group_where, const std::string& name,
                        const std::vector<std::string>& values, const std::vector<std::int64_t>& shape,
                        const std::vector<std::string>& dims);
// Appends one string to a growable 1-D string dataset (created on first use).
void append_string(hid_t group, const Where& group_where, const std::string& name, const std::string& value,
                   const std::string& dim);
void remove_dataset(hid_t group, const Where& group_where, const std::string& name);

// Any integer or float dataset, converted to double, in C order.
std::vector<double> read_f64(hid_t group, const Where& group_where, const std::string& name,
                             std::vector<std::int64_t>* shape = nullptr);
std::vector<std::string> read_strings(hid_t group, const Where& group_where, const std::string& name);

struct DatasetInfo {
  std::vector<std::int64_t> shape;
  std::string dtype;              // "float32", "int64", "uint8", "string", ...
  std::vector<std::string> dims;  // from `dims`, else dimension labels, else empty
  bool is_scale = false;
};
DatasetInfo dataset_info(hid_t group, const Where& group_where, const std::string& name);

}  // namespace mechlens::store::h5
