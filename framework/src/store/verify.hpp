#pragma once
// `mechlens verify`: reads every group, attribute and dataset of an archive
// and reports what cannot be read. Numeric datasets carry HDF5's Fletcher32
// checksum (hdf5_datasets.cpp), so a flipped byte in their data fails the
// read; the 1.8 file format checksums the metadata (superblock, object
// headers), so damage there fails too; a truncated file fails to open.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace mechlens::store {

struct VerifyReport {
  std::size_t groups = 0;
  std::size_t datasets = 0;     // read in full
  std::size_t checksummed = 0;  // of those, with a Fletcher32 checksum
  std::size_t attributes = 0;
  std::vector<std::string> problems;  // "<object>: <what>", one per damaged object
  bool ok() const { return problems.empty(); }
};

// Called with an object's path before it (a group, an attribute, a dataset or
// one slab of its rows) is read: a watcher in another process sees progress.
using VerifyProgress = std::function<void(const std::string& object)>;

// Never throws for damage (it is reported); throws only if `path` is missing.
// Damaged metadata can make the HDF5 library itself crash or loop instead of
// failing: verify_archive_isolated (verify_isolated.hpp) survives that.
VerifyReport verify_archive(const std::string& path, const VerifyProgress& progress = {});

}  // namespace mechlens::store
