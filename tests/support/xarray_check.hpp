#pragma once
// The xarray check of an archive (tests/support/check_xarray_groups.py): every
// group of every run opens in xarray (h5netcdf and netCDF4-python) with named
// dims, coordinates and values equal to h5py's. A plugin's own test calls it
// on the archive it wrote to inherit the check.
#include <string>

#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace mechlens::testing {

// Exit code 0 and a JSON summary ({"groups": N, "analysis_groups": [...], ...}),
// or 1 and the first mismatch, naming the group and dataset.
inline CommandResult check_archive_in_xarray(const std::string& archive) {
  return run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) +
                                                       "/tests/support/check_xarray_groups.py") +
                     " " + shell_quote(archive));
}

}  // namespace mechlens::testing

// Skips without the Python modules the check needs, fails then under CI
// (python_requirement.hpp); tools/setup.sh installs them.
#define MECHLENS_REQUIRE_XARRAY() MECHLENS_REQUIRE_PYTHON("xarray", "h5netcdf", "netCDF4", "h5py")
