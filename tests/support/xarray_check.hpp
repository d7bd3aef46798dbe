#pragma once
// The xarray check of an archive (tests/support/check_xarray_groups.py): every
// group of every run opens in xarray (h5netcdf and netCDF4-python) with named
// dims, coordinates and values equal to h5py's. A plugin's own test calls it
// on the archive it wrote to inherit the check.
#include <string>

#include "subprocess.hpp"

namespace mechlens::testing {

// "" when the Python modules are there, else what is missing (for GTEST_SKIP).
inline std::string xarray_check_unavailable() {
  static const bool all_there = have_python_module("xarray, h5netcdf, netCDF4, h5py");  // one start of Python
  if (all_there) return "";
  for (const char* module : {"xarray", "h5netcdf", "netCDF4", "h5py"})
    if (!have_python_module(module))
      return std::string("python3 module ") + module +
             " is missing (tools/setup.sh installs python3-xarray, python3-h5netcdf, python3-netcdf4)";
  return "";
}

// Exit code 0 and a JSON summary ({"groups": N, "analysis_groups": [...], ...}),
// or 1 and the first mismatch, naming the group and dataset.
inline CommandResult check_archive_in_xarray(const std::string& archive) {
  return run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) +
                                                       "/tests/support/check_xarray_groups.py") +
                     " " + shell_quote(archive));
}

}  // namespace mechlens::testing
