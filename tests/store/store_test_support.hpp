#pragma once
// Shared by the store tests: a scratch directory per test, and readers that
// go straight through the HDF5 C API (not through the store's own helpers),
// so a round trip checks what is really in the file.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace mechlens::testing {

class ScratchDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "mechlens-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

// An open file, closed on scope exit.
struct RawFile {
  explicit RawFile(const std::string& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~RawFile() {
    if (id >= 0) H5Fclose(id);
  }
  hid_t id;
};

inline bool raw_exists(hid_t file, const std::string& path) {
  // Check each component, as H5Lexists requires.
  std::string walked;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    walked += "/" + path.substr(start, end - start);
    start = end + 1;
    if (H5Lexists(file, walked.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

struct RawArray {
  std::vector<hsize_t> shape;
  H5T_class_t cls = H5T_NO_CLASS;
  std::size_t size = 0;  // bytes per element in the file
  bool is_signed = false;
  std::vector<unsigned char> bytes;  // as read with `memory_type`
};

inline RawArray raw_read(hid_t file, const std::string& path, hid_t memory_type) {
  RawArray out;
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(ds, 0) << path;
  if (ds < 0) return out;
  const hid_t type = H5Dget_type(ds);
  out.cls = H5Tget_class(type);
  out.size = H5Tget_size(type);
  out.is_signed = out.cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2;
  const hid_t space = H5Dget_space(ds);
  out.shape.resize(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, out.shape.data(), nullptr);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  out.bytes.resize(static_cast<std::size_t>(n) * H5Tget_size(memory_type));
  if (n > 0) { EXPECT_GE(H5Dread(ds, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.bytes.data()), 0) << path; }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(ds);
  return out;
}

template <typename T>
std::vector<T> raw_values(const RawArray& a) {
  std::vector<T> v(a.bytes.size() / sizeof(T));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

inline std::vector<std::string> raw_read_strings(hid_t file, const std::string& path) {
  std::vector<std::string> out;
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(ds, 0) << path;
  if (ds < 0) return out;
  const hid_t type = H5Dget_type(ds);
  EXPECT_EQ(H5Tget_class(type), H5T_STRING);
  EXPECT_GT(H5Tis_variable_str(type), 0) << path << " should be variable-length";
  EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8) << path << " should be UTF-8";
  const hid_t space = H5Dget_space(ds);
  std::vector<char*> ptrs(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
  if (!ptrs.empty()) { EXPECT_GE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), 0); }
  for (char* p : ptrs) {
    out.emplace_back(p);
    H5free_memory(p);
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(ds);
  return out;
}

// String or string-array attribute `name` on the object at `path`.
inline std::vector<std::string> raw_string_attr(hid_t file, const std::string& path, const std::string& name) {
  std::vector<std::string> out;
  const hid_t attr = H5Aopen_by_name(file, path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(attr, 0) << path << " @" << name;
  if (attr < 0) return out;
  const hid_t type = H5Aget_type(attr);
  EXPECT_EQ(H5Tget_class(type), H5T_STRING) << path << " @" << name;
  EXPECT_GT(H5Tis_variable_str(type), 0) << path << " @" << name;
  EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8) << path << " @" << name;
  const hid_t space = H5Aget_space(attr);
  const hssize_t n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  std::vector<char*> ptrs(static_cast<std::size_t>(n));
  if (n > 0) { EXPECT_GE(H5Aread(attr, type, ptrs.data()), 0); }
  for (char* p : ptrs) {
    out.emplace_back(p);
    H5free_memory(p);
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  return out;
}

template <typename T>
std::vector<T> raw_numeric_attr(hid_t file, const std::string& path, const std::string& name, hid_t memory_type,
                                H5S_class_t* space_class = nullptr) {
  const hid_t attr = H5Aopen_by_name(file, path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(attr, 0) << path << " @" << name;
  if (attr < 0) return {};
  const hid_t space = H5Aget_space(attr);
  if (space_class) *space_class = H5Sget_simple_extent_type(space);
  const hssize_t n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  std::vector<T> v(static_cast<std::size_t>(n));
  if (n > 0) { EXPECT_GE(H5Aread(attr, memory_type, v.data()), 0); }
  H5Sclose(space);
  H5Aclose(attr);
  return v;
}

}  // namespace mechlens::testing
