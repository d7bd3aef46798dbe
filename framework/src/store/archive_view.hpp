#pragma once
// GroupView (mechlens/archive_view.hpp) over an HDF5 archive, read-only.
#include <memory>
#include <string>

#include "mechlens/archive_view.hpp"

namespace mechlens::store {

// The root group "/" of `archive_path`, opened read-only. Every view made
// from it keeps the file open. Errors name the file (no such file, not HDF5).
std::unique_ptr<GroupView> open_archive_view(const std::string& archive_path);

}  // namespace mechlens::store
