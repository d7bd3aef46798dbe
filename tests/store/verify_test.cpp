// verify_archive: an intact archive reads in full; a flipped byte in a
// dataset's data fails its Fletcher32 checksum (here and in the plain HDF5 C
// API), damaged metadata and a truncated file are reported, naming the object.
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <random>

#include "store/archive.hpp"
#include "store/verify.hpp"
#include "store/verify_isolated.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

using mechlens::testing::RawFile;

constexpr const char* kDataset = "/runs/run_0001/analyses/a/kl";

class VerifyTest : public mechlens::testing::ScratchDir {
 protected:
  // One run with a float64 matrix, a coordinate, strings and attributes.
  std::string write() {
    const std::string path = file("out.h5");
    auto run = open_run(path, false);
    run->set_attr("recipe", std::string("[model]\nadapter = \"bert\"\n"));
    auto group = run->analysis("a");
    std::vector<double> kl(2 * 3 * 4);
    for (std::size_t i = 0; i < kl.size(); ++i) kl[i] = 0.125 * static_cast<double>(i);
    group->write("kl", {ElementType::f64, {2, 3, 4}, kl.data()}, {"input", "layer", "head"});
    const std::vector<std::int64_t> layer = {0, 1, 2};
    group->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});
    group->write_strings("token", {"a", "b"}, "input");
    group->set_attr("largest_layer", std::int64_t{1});
    run->finish();
    return path;
  }

  // File offset and size of the first chunk of `dataset` (HDF5 C API, not the store's).
  static std::pair<haddr_t, hsize_t> first_chunk(const std::string& path, const std::string& dataset) {
    RawFile f(path);
    const hid_t ds = H5Dopen2(f.id, dataset.c_str(), H5P_DEFAULT);
    const hid_t space = H5Dget_space(ds);
    hsize_t offset[3];
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    EXPECT_GE(H5Dget_chunk_info(ds, space, 0, offset, &mask, &address, &size), 0);
    H5Sclose(space);
    H5Dclose(ds);
    return {address, size};
  }

  static void flip_byte(const std::string& path, std::uint64_t at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }

  static std::string all(const VerifyReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += p + "\n";
    return s;
  }
};

TEST_F(VerifyTest, IntactArchiveReadsInFullWithChecksums) {
  const VerifyReport r = verify_archive(write());
  EXPECT_TRUE(r.ok()) << all(r);
  // kl and layer carry checksums; the strings and the store's own unit list cannot.
  EXPECT_GE(r.datasets, 3u);
  EXPECT_EQ(r.checksummed, 2u);
  EXPECT_GE(r.attributes, 4u);  // recipe, status, times, largest_layer, dims ...
}

TEST_F(VerifyTest, FlippedDataByteFailsTheChecksumNamingTheDataset) {
  const std::string path = write();
  const auto [address, size] = first_chunk(path, kDataset);
  ASSERT_EQ(size, 2u * 3 * 4 * 8 + 4);  // the data and its 4-byte checksum
  flip_byte(path, address + 100);

  // Any HDF5 reader refuses the chunk instead of returning a wrong number.
  {
    RawFile f(path);
    const hid_t ds = H5Dopen2(f.id, kDataset, H5P_DEFAULT);
    std::vector<double> back(24);
    H5E_BEGIN_TRY { EXPECT_LT(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()), 0); }
    H5E_END_TRY;
    H5Dclose(ds);
  }
  const VerifyReport r = verify_archive(path);
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_NE(r.problems[0].find(kDataset), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[0].find("Fletcher32"), std::string::npos) << r.problems[0];
}

TEST_F(VerifyTest, TruncatedFileIsReported) {
  const std::string path = write();
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  const VerifyReport r = verify_archive(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problems[0].find(path), std::string::npos) << all(r);
  EXPECT_NE(all(r).find("truncated"), std::string::npos) << all(r);
}

TEST_F(VerifyTest, DamagedObjectHeaderIsReportedNamingTheObject) {
  // The 1.8 format checksums object headers ("OHDR" ... checksum): a flipped
  // byte in the dataset's header (its dims attribute, layout, filters) fails
  // the open instead of being parsed. (Free space, padding and the global heap
  // that holds variable-length strings are not checksummed by HDF5.)
  const std::string path = write();
  haddr_t header = HADDR_UNDEF;
  {
    RawFile f(path);
    H5O_info_t info;
    ASSERT_GE(H5Oget_info_by_name2(f.id, kDataset, &info, H5O_INFO_BASIC, H5P_DEFAULT), 0);
    header = info.addr;
  }
  std::string signature(4, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(header));
    in.read(signature.data(), 4);
  }
  ASSERT_EQ(signature, "OHDR");  // a version-2 header, which carries a checksum
  flip_byte(path, header + 24);
  const VerifyReport r = verify_archive(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all(r).find(kDataset), std::string::npos) << all(r);
  EXPECT_NE(all(r).find("checksum"), std::string::npos) << all(r);
}

TEST_F(VerifyTest, MissingFileIsAnError) {
  EXPECT_THROW(verify_archive(file("absent.h5")), std::exception);
  EXPECT_THROW(verify_archive_isolated(file("absent.h5")), std::exception);
}

// A read that blocks for good (here: opening a named pipe nobody writes to,
// as HDF5 looping on damaged metadata would) is stopped after the stall time
// and reported, naming the file.
TEST_F(VerifyTest, AReadThatStopsMakingProgressIsStoppedAndReported) {
  const std::string path = file("blocked.h5");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const VerifyReport r = verify_archive_isolated(path, 0.5);
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_NE(r.problems[0].find(path), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[0].find("unreadable, damaged metadata"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[0].find("no progress for 0.5 s"), std::string::npos) << r.problems[0];
}

// Random damage to the metadata (fixed seeds, 8 bytes each) must always end
// with a report, never a crashed or hanging verify: HDF5 itself crashes on
// some of these files (SIGSEGV, glibc aborts), which the child process turns
// into "unreadable, damaged metadata" naming the last object it started. The
// archive is made of metadata almost entirely (tiny datasets, many groups and
// attributes), and its bytes are the same on every run (same lengths), so the
// seeds give the same damage. Bounded: a child that made no progress for 3 s
// would be stopped and reported (none of these seeds loops; each child takes
// milliseconds).
TEST_F(VerifyTest, RandomMetadataDamageAlwaysEndsWithAReport) {
  const std::string intact = file("intact.h5");
  {
    auto run = open_run(intact, false);
    run->set_attr("recipe", std::string("[model]\nadapter = \"bert\"\n"));
    for (const char* name : {"a", "b", "c", "d"}) {
      auto group = run->analysis(name);
      std::vector<double> kl(2 * 3 * 4, 0.5);
      group->write("kl", {ElementType::f64, {2, 3, 4}, kl.data()}, {"input", "layer", "head"});
      const std::vector<std::int64_t> layer = {0, 1, 2};
      group->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});
      group->write_strings("token", {"a", "b"}, "input");
      group->set_attr("largest_layer", std::int64_t{1});
      for (const char* sub : {"x", "y"}) group->group(sub)->write_strings("token", {"c", "d"}, "input");
    }
    run->finish();
  }
  std::string bytes;
  {
    std::ifstream in(intact, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 4096u);
  int reported = 0, crashed = 0, clean = 0;
  for (std::uint32_t seed = 0; seed < 24; ++seed) {
    std::mt19937 random(seed);  // the raw engine's output is fixed by the standard
    std::string damaged = bytes;
    for (int i = 0; i < 8; ++i) {
      const std::size_t at = random() % damaged.size();
      damaged[at] = static_cast<char>(random() & 0xff);
    }
    const std::string path = file("damaged_" + std::to_string(seed) + ".h5");
    std::ofstream(path, std::ios::binary) << damaged;
    const VerifyReport r = verify_archive_isolated(path, 3.0);
    for (const auto& problem : r.problems) EXPECT_FALSE(problem.empty()) << "seed " << seed;
    if (r.ok()) {
      ++clean;  // the bytes fell in free space, padding or a string heap (not checksummed)
    } else if (all(r).find("unreadable, damaged metadata") != std::string::npos) {
      if (crashed++ == 0) std::cout << "[ damage ] seed " << seed << ": " << all(r);
      EXPECT_NE(all(r).find(path), std::string::npos) << all(r);
    } else {
      ++reported;
    }
  }
  std::cout << "[ damage ] 24 seeds: " << reported << " reported by HDF5's own checks, " << crashed
            << " crashed or looped inside HDF5 (reported as damaged metadata), " << clean << " unnoticed\n";
  EXPECT_GT(reported, 0);
  // With Debian's HDF5 (1.10) 3 of these seeds crash the library: the crash
  // path is exercised. (Another HDF5 may not crash on them; then pick seeds
  // that do with more of them.)
  EXPECT_GT(crashed, 0) << "no seed exercised the crash path";
}

}  // namespace
}  // namespace mechlens::store
