#include "store/hdf5_attributes.hpp"

#include <cstring>
#include <type_traits>

#include "mechlens/error.hpp"

namespace mechlens::store::h5 {

namespace {

Id vector_space(std::size_t n, const Where& where) { return make_space({static_cast<hsize_t>(n)}, where); }

void write_raw(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, hid_t space,
               const void* data, const Where& where) {
  if (has_attr(obj, name, where))
    check_status(H5Adelete(obj, name.c_str()), where, "cannot replace attribute '" + name + "'");
  Id attr = attribute_handle(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), where,
                             "cannot create attribute '" + name + "'");
  if (H5Sget_simple_extent_npoints(space) > 0)
    check_status(H5Awrite(attr.get(), mem_type, data), where, "cannot write attribute '" + name + "'");
}

void write_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values, bool scalar,
                   const Where& where) {
  for (const auto& v : values) check_utf8(v, where, "attribute '" + name + "'");
  Id type = utf8_string_type(where);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  Id space = scalar ? make_space({}, where) : vector_space(values.size(), where);
  write_raw(obj, name, type.get(), type.get(), space.get(), pointers.data(), where);
}

// Reads every element of a string attribute, variable- or fixed-length.
std::vector<std::string> read_strings(hid_t attr, hid_t type, std::size_t n, const Where& where,
                                      const std::string& name) {
  std::vector<std::string> out;
  if (n == 0) return out;
  const std::string what = "cannot read attribute '" + name + "'";
  if (H5Tis_variable_str(type) > 0) {
    Id mem = type_handle(H5Tcopy(H5T_C_S1), where, what);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type));  // HDF5 will not convert ASCII <-> UTF-8
    std::vector<char*> pointers(n, nullptr);
    check_status(H5Aread(attr, mem.get(), pointers.data()), where, what);
    for (char* p : pointers) {
      out.emplace_back(p ? p : "");
      if (p) H5free_memory(p);
    }
    return out;
  }
  const std::size_t size = H5Tget_size(type);
  std::vector<char> buffer(size * n, '\0');
  check_status(H5Aread(attr, type, buffer.data()), where, what);
  for (std::size_t i = 0; i < n; ++i) {
    const char* p = buffer.data() + i * size;
    out.emplace_back(p, strnlen(p, size));
    // Space-padded fixed strings (Fortran style) lose their padding.
    if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
      while (!out.back().empty() && out.back().back() == ' ') out.back().pop_back();
  }
  return out;
}

}  // namespace

bool has_attr(hid_t obj, const std::string& name, const Where& where) {
  const htri_t exists = H5Aexists(obj, name.c_str());
  if (exists < 0) where.fail("cannot look up attribute '" + name + "'");
  return exists > 0;
}

void write_attr(hid_t obj, const std::string& name, const AttrValue& value, const Where& where) {
  // Attribute names may contain '/', unlike link names; they must still be UTF-8.
  if (name.empty()) mechlens::fail(where.file + ": " + where.object, "empty attribute name");
  check_utf8(name, where, "attribute name");
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          write_strings(obj, name, {v}, true, where);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          write_strings(obj, name, v, false, where);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          Id space = make_space({}, where);
          write_raw(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), &v, where);
        } else if constexpr (std::is_same_v<T, double>) {
          Id space = make_space({}, where);
          write_raw(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), &v, where);
        } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
          Id space = vector_space(v.size(), where);
          write_raw(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), v.data(), where);
        } else {
          static_assert(std::is_same_v<T, std::vector<double>>);
          Id space = vector_space(v.size(), where);
          write_raw(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), v.data(), where);
        }
      },
      value);
}

std::optional<AttrValue> read_attr(hid_t obj, const std::string& name, const Where& where) {
  if (!has_attr(obj, name, where)) return std::nullopt;
  const std::string what = "cannot read attribute '" + name + "'";
  Id attr = attribute_handle(H5Aopen(obj, name.c_str(), H5P_DEFAULT), where, what);
  Id type = type_handle(H5Aget_type(attr.get()), where, what);
  Id space = space_handle(H5Aget_space(attr.get()), where, what);
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  const bool is_null = space_class == H5S_NULL;
  const bool scalar = space_class == H5S_SCALAR;
  if (!is_null && !scalar && H5Sget_simple_extent_ndims(space.get()) != 1) return std::nullopt;
  const std::size_t n = is_null ? 0 : static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));

  switch (H5Tget_class(type.get())) {
    case H5T_STRING: {
      std::vector<std::string> values = read_strings(attr.get(), type.get(), n, where, name);
      if (scalar) return AttrValue(values.at(0));
      return AttrValue(std::move(values));
    }
    case H5T_INTEGER: {
      std::vector<std::int64_t> values(n);
      if (n) check_status(H5Aread(attr.get(), H5T_NATIVE_INT64, values.data()), where, what);
      if (scalar) return AttrValue(values.at(0));
      return AttrValue(std::move(values));
    }
    case H5T_FLOAT: {
      std::vector<double> values(n);
      if (n) check_status(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, values.data()), where, what);
      if (scalar) return AttrValue(values.at(0));
      return AttrValue(std::move(values));
    }
    default:
      return std::nullopt;
  }
}

namespace {
herr_t add_attr_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attr_names(hid_t obj, const Where& where) {
  std::vector<std::string> names;
  hsize_t index = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, add_attr_name, &names) < 0)
    where.fail("cannot list attributes");
  return names;
}

std::string string_attr(hid_t obj, const std::string& name, const Where& where, const std::string& fallback) {
  const auto value = read_attr(obj, name, where);
  if (value)
    if (const auto* s = std::get_if<std::string>(&*value)) return *s;
  return fallback;
}

std::vector<std::string> strings_attr(hid_t obj, const std::string& name, const Where& where) {
  const auto value = read_attr(obj, name, where);
  if (value) {
    if (const auto* v = std::get_if<std::vector<std::string>>(&*value)) return *v;
    if (const auto* s = std::get_if<std::string>(&*value)) return {*s};
  }
  return {};
}

}  // namespace mechlens::store::h5
