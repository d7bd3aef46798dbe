#pragma once
// Which BLAS this process got. Debian's libtorch calls whatever libblas.so.3
// the alternatives system points at: the reference BLAS is ~40x slower than
// OpenBLAS, and the pthread OpenBLAS fights libtorch's OpenMP pool (DESIGN.md,
// "Where this runs"), so `mechlens run -v` says which one is loaded.
#include <string>
#include <vector>

namespace mechlens::host {

struct BlasInfo {
  enum class Kind { unknown, reference, openblas_openmp, openblas_pthread, openblas_serial, openblas, mkl };
  Kind kind = Kind::unknown;
  std::vector<std::string> libraries;  // mapped BLAS/LAPACK library files
  bool openmp_runtime = false;         // libgomp / libomp / libiomp5 mapped

  std::string describe() const;               // one line for the log
  std::string kind_name() const;              // "openblas-openmp", "reference", ... (provenance)
  std::vector<std::string> warnings() const;  // what to fix, with how
};

// From the text of /proc/<pid>/maps (testable on made-up maps).
BlasInfo classify_blas(const std::string& maps_text);
// This process, from /proc/self/maps (Kind::unknown where that is unreadable).
BlasInfo detect_blas();

}  // namespace mechlens::host
