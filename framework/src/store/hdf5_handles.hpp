#pragma once
// A thin RAII layer over the HDF5 C API: ids that close themselves, and
// HDF5's error stack turned into mechlens::Error naming the file and the
// object path. HighFive is not packaged here; this is all we need of it.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/store.hpp"

namespace mechlens::store::h5 {

// Which file and which object an operation is about, for error messages:
// "out.h5.partial: /runs/run_0001/analyses/x/y: cannot create dataset (...)".
struct Where {
  std::string file;
  std::string object;
  Where child(const std::string& name) const;
  [[noreturn]] void fail(const std::string& what) const;  // adds HDF5's own reason, if any
};

// Owns one hid_t and releases it with the matching H5?close.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer close) : id_(id), close_(close) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& other) noexcept;
  ~Id() { reset(); }

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset();  // closes now; never throws (a close failure is reported by H5Fclose later)
  hid_t release() {  // gives up ownership without closing
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Switches off HDF5's printing of its error stack to stderr (we turn the stack
// into exceptions instead). Idempotent; every entry point calls it.
void quiet();

// Text of HDF5's current error stack (outermost and innermost message), then clears it.
std::string error_stack_text();

// `id` if it is valid, else where.fail(what).
hid_t check(hid_t id, const Where& where, const std::string& what);
void check_status(herr_t status, const Where& where, const std::string& what);

Id file_handle(hid_t id, const Where& where, const std::string& what);
Id group_handle(hid_t id, const Where& where, const std::string& what);
Id dataset_handle(hid_t id, const Where& where, const std::string& what);
Id attribute_handle(hid_t id, const Where& where, const std::string& what);
Id type_handle(hid_t id, const Where& where, const std::string& what);
Id space_handle(hid_t id, const Where& where, const std::string& what);
Id plist_handle(hid_t id, const Where& where, const std::string& what);

// File access properties for every file we open (archive and describe alike).
Id file_access(const Where& where);

// Variable-length UTF-8 string type (what h5py writes for `str`).
Id utf8_string_type(const Where& where);
// Dataspace: scalar for an empty shape, else simple with these extents.
Id make_space(const std::vector<hsize_t>& extents, const Where& where);
// Shape of a dataspace (empty for scalar; {0...} for null).
std::vector<std::int64_t> space_shape(hid_t space, const Where& where);

// Little-endian file type and native memory type for an element type.
hid_t file_type(ElementType type);
hid_t memory_type(ElementType type);
std::size_t element_size(ElementType type);

// True if `name` is a link in group `loc` (no intermediate path checks needed:
// names are single components, see valid_name).
bool link_exists(hid_t loc, const std::string& name, const Where& where);
// Kinds of children, for listings.
enum class ObjectKind { group, dataset, other };
ObjectKind child_kind(hid_t loc, const std::string& name, const Where& where);
// Child link names of a group, in name order.
std::vector<std::string> child_names(hid_t group, const Where& where);

// A dataset, attribute or group name must be one path component.
void check_name(const std::string& name, const Where& where, const std::string& kind);
// HDF5 stores bytes; we declare UTF-8, so the bytes must be UTF-8 or h5py
// readers fail to decode them. Throws naming `what`.
void check_utf8(const std::string& text, const Where& where, const std::string& what);

// "2025-01-31T12:00:00Z"
std::string utc_now_iso8601();

}  // namespace mechlens::store::h5
