// Byte-mutation fuzzing of the safetensors header parser (issue 9): every
// mutation of a valid file opens or fails with mechlens::Error naming the
// file; the tensors of a file that opens lie inside it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "byte_mutation.hpp"
#include "checkpoint/load_warnings.hpp"
#include "checkpoint/mapped_file.hpp"
#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

TEST(SafetensorsFuzz, MutatedFilesOpenOrFailWithAnError) {
  testing::ScratchDir dir;
  const std::string path = dir.file("model.safetensors");
  std::vector<TensorData> tensors;
  for (int t = 0; t < 3; ++t) {
    TensorData d{"layer." + std::to_string(t) + ".weight", t == 1 ? DType::bf16 : DType::f32, {2, 3}, {}};
    d.bytes.resize(6 * element_size(d.dtype), std::byte{0x3f});
    tensors.push_back(d);
  }
  write_safetensors(path, tensors, {{"format", "pt"}});
  const std::string valid = testing::read_bytes(path);
  std::uint64_t header = 0;
  std::memcpy(&header, valid.data(), 8);
  int opened = 0, refused = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
      // Mostly the header (where the parser's logic is), sometimes anywhere.
      std::string bytes = valid;
      const std::size_t span = rng() % 4 == 0 ? bytes.size() : static_cast<std::size_t>(8 + header);
      std::string head = bytes.substr(0, span);
      head = mechlens::testing::mutate(head, rng, 1 + static_cast<int>(rng() % 3));
      bytes = head + bytes.substr(span);
      testing::write_bytes(path, bytes);
      try {
        const SafetensorsFile file = SafetensorsFile::open(path);
        const std::byte* begin = file.mapping()->data();
        const std::byte* end = begin + file.mapping()->size();
        for (const auto& [name, view] : file.tensors())
          EXPECT_TRUE(view.data >= begin && view.data + view.nbytes <= end)
              << "seed " << seed << " iteration " << i << ": " << name << " outside the file";
        ++opened;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        ++refused;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "seed " << seed << " iteration " << i << ": " << typeid(e).name() << ": " << e.what();
      }
    }
  }
  take_load_warnings();
  EXPECT_GT(opened, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace mechlens::checkpoint
