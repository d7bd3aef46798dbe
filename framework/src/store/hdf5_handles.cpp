#include "store/hdf5_handles.hpp"

#include <ctime>
#include <mutex>

#include "mechlens/error.hpp"

namespace mechlens::store::h5 {

Where Where::child(const std::string& name) const {
  if (object.empty() || object == "/") return {file, "/" + name};
  return {file, object + "/" + name};
}

void Where::fail(const std::string& what) const {
  const std::string reason = error_stack_text();
  const std::string where = object.empty() ? file : file + ": " + object;
  mechlens::fail(where, reason.empty() ? what : what + " (HDF5: " + reason + ")");
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Id::reset() {
  if (id_ >= 0 && close_ != nullptr) close_(id_);
  id_ = H5I_INVALID_HID;
}

void quiet() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No library shutdown at exit: every handle is closed by its owner, and
    // HDF5's own shutdown closes again a file whose close failed (a full
    // disk) and crashes there (H5F__close_cb), after our error was printed.
    // Must come before any other HDF5 call to take effect.
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

namespace {
struct StackText {
  std::string outer;
  std::string inner;
};

herr_t collect(unsigned n, const H5E_error2_t* err, void* data) {
  auto* text = static_cast<StackText*>(data);
  const std::string line = std::string(err->func_name ? err->func_name : "?") + ": " + (err->desc ? err->desc : "");
  if (n == 0) text->outer = line;
  text->inner = line;
  return 0;
}
}  // namespace

std::string error_stack_text() {
  const hid_t stack = H5Eget_current_stack();  // also clears the current stack
  if (stack < 0) return "";
  StackText text;
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, collect, &text);
  H5Eclose_stack(stack);
  if (text.outer.empty()) return "";
  return text.inner == text.outer ? text.outer : text.outer + " <- " + text.inner;
}

hid_t check(hid_t id, const Where& where, const std::string& what) {
  if (id < 0) where.fail(what);
  return id;
}

void check_status(herr_t status, const Where& where, const std::string& what) {
  if (status < 0) where.fail(what);
}

Id file_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Fclose); }
Id group_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Gclose); }
Id dataset_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Dclose); }
Id attribute_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Aclose); }
Id type_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Tclose); }
Id space_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Sclose); }
Id plist_handle(hid_t id, const Where& w, const std::string& what) { return Id(check(id, w, what), H5Pclose); }

Id file_access(const Where& where) {
  Id fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), where, "cannot create file properties");
  // Close every object with the file, so the rename in finish() sees a closed file.
  check_status(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), where, "cannot set the close degree");
  // 1.8 object headers: attributes larger than 64 KiB (long recipe texts) are
  // stored densely instead of failing; every HDF5 >= 1.8 and h5py read them.
  check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), where,
               "cannot set library version bounds");
#if H5_VERSION_GE(1, 10, 7)
  // Cluster file systems (NFS, Lustre) often have no flock(); HDF5 would then
  // refuse to open the file. Lock where locks exist, go on where they do not.
  check_status(H5Pset_file_locking(fapl.get(), true, true), where, "cannot set file locking");
#endif
  return fapl;
}

Id utf8_string_type(const Where& where) {
  Id type = type_handle(H5Tcopy(H5T_C_S1), where, "cannot copy the string type");
  check_status(H5Tset_size(type.get(), H5T_VARIABLE), where, "cannot make a variable-length string type");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), where, "cannot set UTF-8 on the string type");
  return type;
}

Id make_space(const std::vector<hsize_t>& extents, const Where& where) {
  if (extents.empty()) return space_handle(H5Screate(H5S_SCALAR), where, "cannot create a scalar dataspace");
  return space_handle(H5Screate_simple(static_cast<int>(extents.size()), extents.data(), nullptr), where,
                      "cannot create a dataspace");
}

std::vector<std::int64_t> space_shape(hid_t space, const Where& where) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) where.fail("cannot read the dataspace rank");
  std::vector<hsize_t> extents(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, extents.data(), nullptr) < 0)
    where.fail("cannot read the dataspace extents");
  return std::vector<std::int64_t>(extents.begin(), extents.end());
}

hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::f32: return H5T_IEEE_F32LE;
    case ElementType::f64: return H5T_IEEE_F64LE;
    case ElementType::i64: return H5T_STD_I64LE;
    case ElementType::i32: return H5T_STD_I32LE;
    case ElementType::u8: return H5T_STD_U8LE;
  }
  return H5I_INVALID_HID;
}

hid_t memory_type(ElementType type) {
  switch (type) {
    case ElementType::f32: return H5T_NATIVE_FLOAT;
    case ElementType::f64: return H5T_NATIVE_DOUBLE;
    case ElementType::i64: return H5T_NATIVE_INT64;
    case ElementType::i32: return H5T_NATIVE_INT32;
    case ElementType::u8: return H5T_NATIVE_UINT8;
  }
  return H5I_INVALID_HID;
}

std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::f32: return 4;
    case ElementType::f64: return 8;
    case ElementType::i64: return 8;
    case ElementType::i32: return 4;
    case ElementType::u8: return 1;
  }
  return 0;
}

bool link_exists(hid_t loc, const std::string& name, const Where& where) {
  const htri_t exists = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  if (exists < 0) where.fail("cannot look up '" + name + "'");
  return exists > 0;
}

ObjectKind child_kind(hid_t loc, const std::string& name, const Where& where) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    where.child(name).fail("cannot read object info");
  if (info.type == H5O_TYPE_GROUP) return ObjectKind::group;
  if (info.type == H5O_TYPE_DATASET) return ObjectKind::dataset;
  return ObjectKind::other;
}

namespace {
herr_t add_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> child_names(hid_t group, const Where& where) {
  std::vector<std::string> names;
  hsize_t index = 0;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, add_name, &names) < 0)
    where.fail("cannot list the group's members");
  return names;
}

void check_name(const std::string& name, const Where& where, const std::string& kind) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    mechlens::fail(where.file + ": " + where.object,
                   "invalid " + kind + " name '" + name + "' (must be non-empty, without '/', not '.' or '..')");
  check_utf8(name, where, kind + " name");
}

void check_utf8(const std::string& text, const Where& where, const std::string& what) {
  // Structural UTF-8 check (RFC 3629): no overlongs, surrogates or values past U+10FFFF.
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (ok) {
      static const std::uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min_for_len[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok)
      mechlens::fail(where.file + ": " + where.object,
                     what + " is not valid UTF-8 (byte " + std::to_string(i) + ")");
    i += len;
  }
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace mechlens::store::h5
