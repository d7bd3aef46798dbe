#!/usr/bin/env bash
# Installs what mechlens needs on Debian (bookworm), points BLAS at the OpenMP
# build of OpenBLAS, configures and builds. Idempotent: a second run only
# rebuilds what changed. Used by tools/demo.sh and tools/test.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MECHLENS_BUILD_DIR:-$here/build}"

packages=(
  build-essential cmake pkg-config ccache
  libtorch-dev libopenblas0-openmp
  libboost-dev libboost-filesystem-dev libboost-program-options-dev
  libtomlplusplus-dev libhdf5-dev libgtest-dev
  libstb-dev libpcre2-dev libutf8proc-dev nlohmann-json3-dev
  libcairo2-dev fonts-dejavu-core
  python3-torch python3-numpy python3-pil python3-h5py python3-jinja2
  python3-xarray python3-h5netcdf python3-netcdf4
  chromium  # tests/browser: the report pages in a real headless browser (~90 s to install)
  slurm-wlm munge  # tests/slurm: a single-node Slurm cluster runs a sharded sweep (mechlens slurm)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# Debian's libtorch calls whatever libblas.so.3 points at: the reference BLAS
# is ~40x slower, and the pthread OpenBLAS fights libtorch's OpenMP threads.
arch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
openmp_dir="/usr/lib/$arch/openblas-openmp"
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  name="$lib-$arch"
  target="$openmp_dir/$lib"
  [[ -e $target ]] || continue
  current="$(readlink -f "/etc/alternatives/$name" 2>/dev/null || true)"
  if [[ $current != "$(readlink -f "$target")" ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo update-alternatives --set "$name" "$target" >&2
  fi
done

# Under CI (CI=true, which .ci/run sets) a compiler warning fails the build;
# a developer's build only prints it (MECHLENS_WERROR in CMakeLists.txt).
if [[ ${CI:-} == true ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMECHLENS_WERROR=ON >&2
elif [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build "$build" -j "${MECHLENS_JOBS:-2}" >&2
echo "$build"
