#include "host/blas_info.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace mechlens::host {

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::string file_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Debian installs each BLAS in its own folder and points libblas.so.3 at one
// of them: .../openblas-openmp/, .../openblas-pthread/, .../openblas-serial/,
// .../blas/ (the reference implementation). /proc/self/maps shows the
// resolved path, so the folder tells which one was loaded.
BlasInfo::Kind kind_of(const std::string& path) {
  if (contains(path, "openblas-openmp")) return BlasInfo::Kind::openblas_openmp;
  if (contains(path, "openblas-pthread")) return BlasInfo::Kind::openblas_pthread;
  if (contains(path, "openblas-serial")) return BlasInfo::Kind::openblas_serial;
  const std::string name = file_name(path);
  if (contains(name, "libopenblas")) return BlasInfo::Kind::openblas;
  if (contains(name, "libmkl")) return BlasInfo::Kind::mkl;
  if (contains(path, "/blas/libblas") || contains(path, "/lapack/liblapack")) return BlasInfo::Kind::reference;
  return BlasInfo::Kind::unknown;
}

bool is_blas_file(const std::string& name) {
  return contains(name, "libblas") || contains(name, "libopenblas") || contains(name, "libcblas") ||
         contains(name, "liblapack") || contains(name, "libmkl");
}

// The more specific finding wins: a reference libblas next to OpenBLAS's
// libopenblas.so.0 means the BLAS calls go to the reference one.
int rank(BlasInfo::Kind k) {
  switch (k) {
    case BlasInfo::Kind::unknown: return 0;
    case BlasInfo::Kind::openblas: return 1;
    case BlasInfo::Kind::mkl: return 2;
    case BlasInfo::Kind::openblas_serial: return 3;
    case BlasInfo::Kind::openblas_openmp: return 3;
    case BlasInfo::Kind::openblas_pthread: return 4;
    case BlasInfo::Kind::reference: return 5;
  }
  return 0;
}

const char* name_of(BlasInfo::Kind k) {
  switch (k) {
    case BlasInfo::Kind::unknown: return "no BLAS library found";
    case BlasInfo::Kind::reference: return "reference BLAS (netlib)";
    case BlasInfo::Kind::openblas_openmp: return "OpenBLAS (OpenMP build)";
    case BlasInfo::Kind::openblas_pthread: return "OpenBLAS (pthread build)";
    case BlasInfo::Kind::openblas_serial: return "OpenBLAS (serial build)";
    case BlasInfo::Kind::openblas: return "OpenBLAS";
    case BlasInfo::Kind::mkl: return "Intel MKL";
  }
  return "?";
}

}  // namespace

BlasInfo classify_blas(const std::string& maps_text) {
  BlasInfo info;
  std::set<std::string> seen;
  std::istringstream lines(maps_text);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = file_name(path);
    if (contains(name, "libgomp") || contains(name, "libomp") || contains(name, "libiomp")) info.openmp_runtime = true;
    if (!is_blas_file(name) || !seen.insert(path).second) continue;
    info.libraries.push_back(path);
    const BlasInfo::Kind k = kind_of(path);
    if (rank(k) > rank(info.kind)) info.kind = k;
  }
  return info;
}

BlasInfo detect_blas() {
  std::ifstream maps("/proc/self/maps");
  if (!maps) return {};
  std::ostringstream text;
  text << maps.rdbuf();
  return classify_blas(text.str());
}

std::string BlasInfo::describe() const {
  std::string out = std::string("BLAS: ") + name_of(kind);
  for (std::size_t i = 0; i < libraries.size(); ++i) out += (i ? ", " : " (") + libraries[i];
  if (!libraries.empty()) out += ")";
  if (openmp_runtime) out += "; OpenMP runtime loaded";
  return out;
}

std::string BlasInfo::kind_name() const {
  switch (kind) {
    case Kind::unknown: return "unknown";
    case Kind::reference: return "reference";
    case Kind::openblas_openmp: return "openblas-openmp";
    case Kind::openblas_pthread: return "openblas-pthread";
    case Kind::openblas_serial: return "openblas-serial";
    case Kind::openblas: return "openblas";
    case Kind::mkl: return "mkl";
  }
  return "unknown";
}

std::vector<std::string> BlasInfo::warnings() const {
  std::vector<std::string> out;
  if (kind == Kind::reference)
    out.push_back(
        "the reference BLAS is in use (~6 GFLOP/s): install libopenblas0-openmp and point the libblas.so.3 "
        "and liblapack.so.3 alternatives at it (update-alternatives --config libblas.so.3-x86_64-linux-gnu)");
  if (kind == Kind::openblas_pthread && openmp_runtime)
    out.push_back(
        "the pthread build of OpenBLAS runs next to libtorch's OpenMP pool and the two spin against each "
        "other: install libopenblas0-openmp (and select it with update-alternatives), or set "
        "OMP_WAIT_POLICY=PASSIVE");
  return out;
}

}  // namespace mechlens::host
