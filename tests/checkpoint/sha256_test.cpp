// SHA-256 against the FIPS 180-4 example vectors (and Python's hashlib for
// the 768-byte one), incl. block-boundary and split-update cases.
#include "checkpoint/sha256.hpp"

#include <gtest/gtest.h>

#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits in the first block's padding.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, SplitUpdatesEqualOneShot) {
  std::string bytes;  // bytes(range(256)) * 3 in Python
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  const std::string expected = "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363";
  EXPECT_EQ(sha256_hex(bytes), expected);
  for (std::size_t split : {1u, 55u, 63u, 64u, 65u, 700u}) {
    Sha256 h;
    h.update(bytes.substr(0, split)).update(bytes.substr(split));
    EXPECT_EQ(h.hex(), expected) << "split at " << split;
  }
}

TEST(Sha256Test, HashesFiles) {
  testing::ScratchDir dir;
  testing::write_bytes(dir.file("abc"), "abc");
  EXPECT_EQ(sha256_file_hex(dir.file("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file_hex(dir.file("absent")), Error);
}

}  // namespace
}  // namespace mechlens::checkpoint
