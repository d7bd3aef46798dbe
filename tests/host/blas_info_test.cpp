// Which BLAS a process got, read from its memory map. The maps below are in
// the format of proc(5); the paths are where Debian bookworm installs each
// BLAS (libblas.so.3 resolved through the alternatives symlink).
#include <gtest/gtest.h>

#include "host/blas_info.hpp"

namespace {

using mechlens::host::BlasInfo;
using mechlens::host::classify_blas;

std::string line(const std::string& path) {
  return "7f0c8a000000-7f0c8a200000 r-xp 00000000 08:01 1234567                    " + path + "\n";
}

const std::string kTorch = line("/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13");
const std::string kGomp = line("/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0");

bool mentions(const std::vector<std::string>& warnings, const std::string& word) {
  for (const auto& w : warnings)
    if (w.find(word) != std::string::npos) return true;
  return false;
}

TEST(BlasInfo, OpenMpOpenBlasIsRecognisedAndNotWarnedAbout) {
  const BlasInfo info = classify_blas(kTorch + kGomp + line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3") +
                                      line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0") +
                                      line("/usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3"));
  EXPECT_EQ(info.kind, BlasInfo::Kind::openblas_openmp);
  EXPECT_TRUE(info.openmp_runtime);
  EXPECT_EQ(info.libraries.size(), 3u);
  EXPECT_TRUE(info.warnings().empty());
  EXPECT_NE(info.describe().find("OpenMP build"), std::string::npos) << info.describe();
}

TEST(BlasInfo, ReferenceBlasIsWarnedAboutWithTheFix) {
  const BlasInfo info = classify_blas(kTorch + kGomp + line("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0") +
                                      line("/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3.11.0"));
  EXPECT_EQ(info.kind, BlasInfo::Kind::reference);
  ASSERT_EQ(info.warnings().size(), 1u);
  EXPECT_TRUE(mentions(info.warnings(), "libopenblas0-openmp"));
}

TEST(BlasInfo, ReferenceLibblasWinsOverAnOpenBlasLoadedBesideIt) {
  // libopenblas.so.0 mapped (a LAPACK user pulled it in) but libblas.so.3 is
  // still the reference one: BLAS calls go there.
  const BlasInfo info = classify_blas(line("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0") +
                                      line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0"));
  EXPECT_EQ(info.kind, BlasInfo::Kind::reference);
}

TEST(BlasInfo, PthreadOpenBlasNextToOpenMpIsWarnedAbout) {
  const std::string blas = line("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3") +
                           line("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0");
  const BlasInfo with_omp = classify_blas(kTorch + kGomp + blas);
  EXPECT_EQ(with_omp.kind, BlasInfo::Kind::openblas_pthread);
  EXPECT_TRUE(mentions(with_omp.warnings(), "OMP_WAIT_POLICY=PASSIVE"));
  EXPECT_TRUE(mentions(with_omp.warnings(), "libopenblas0-openmp"));

  // Without an OpenMP runtime there is no second pool to fight.
  const BlasInfo alone = classify_blas(kTorch + blas);
  EXPECT_EQ(alone.kind, BlasInfo::Kind::openblas_pthread);
  EXPECT_FALSE(alone.openmp_runtime);
  EXPECT_TRUE(alone.warnings().empty());
}

TEST(BlasInfo, NoBlasMappedIsUnknown) {
  const BlasInfo info = classify_blas(kTorch + "7ffd1000-7ffd2000 rw-p 00000000 00:00 0   [stack]\n");
  EXPECT_EQ(info.kind, BlasInfo::Kind::unknown);
  EXPECT_TRUE(info.libraries.empty());
  EXPECT_TRUE(info.warnings().empty());
}

TEST(BlasInfo, ThisProcessMapsTheBlasLibtorchLinks) {
  // The test links libtorch, which links libblas.so.3: whichever it is, it is mapped.
  const BlasInfo info = mechlens::host::detect_blas();
  EXPECT_NE(info.kind, BlasInfo::Kind::unknown) << info.describe();
  EXPECT_FALSE(info.libraries.empty());
}

}  // namespace
