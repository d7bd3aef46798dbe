#pragma once
// Attributes: strings (variable-length UTF-8), int64, double, and 1-D arrays
// of each. Writing replaces an attribute of the same name.
#include <optional>
#include <string>

#include "mechlens/store.hpp"
#include "store/hdf5_handles.hpp"

namespace mechlens::store::h5 {

// `where` names the object `obj` is.
void write_attr(hid_t obj, const std::string& name, const AttrValue& value, const Where& where);
bool has_attr(hid_t obj, const std::string& name, const Where& where);
// Reads back what write_attr writes, and what h5py writes for the same kinds
// (fixed-length strings too; smaller integers widen to int64, floats to double).
// nullopt if the attribute is absent or of another kind (compound, 2-D, ...).
std::optional<AttrValue> read_attr(hid_t obj, const std::string& name, const Where& where);
std::vector<std::string> attr_names(hid_t obj, const Where& where);

// Reads the string attribute `name`, or `fallback` if absent or not a string.
std::string string_attr(hid_t obj, const std::string& name, const Where& where, const std::string& fallback = "");
// Reads a string-array attribute (a scalar string reads as one element).
std::vector<std::string> strings_attr(hid_t obj, const std::string& name, const Where& where);

}  // namespace mechlens::store::h5
