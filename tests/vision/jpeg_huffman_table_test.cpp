// A JPEG whose Huffman table declares more than 256 codes is refused by name
// before stb_image reads it. Debian's stb_image (git 2022-09-08) does not
// check the count and writes past its tables (UBSan, tools/sanitize.sh, on
// ImageFuzz.MutatedJpegDecodesOrFailsWithAnError: "index 257 out of bounds
// for type 'unsigned char [257]'" in stbi__build_huffman).
#include <gtest/gtest.h>

#include <string>

#include "mechlens/error.hpp"
#include "vision/image.hpp"

namespace {

// One Huffman table: class/id byte, 16 code counts, then the symbols.
std::string table(char class_id, const std::string& counts) {
  std::size_t n = 0;
  for (unsigned char c : counts) n += c;
  return std::string(1, class_id) + counts + std::string(n, '\0');
}

std::string jpeg_with_dht(const std::string& tables) {
  const std::size_t length = 2 + tables.size();
  return std::string("\xFF\xD8\xFF\xC4", 4) + char(length >> 8) + char(length & 0xFF) + tables +
         std::string("\xFF\xD9", 2);
}

std::string error_of(const std::string& bytes) {
  try {
    mechlens::vision::decode_image_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                                         "bad.jpg");
  } catch (const mechlens::Error& e) {
    return e.what();
  }
  return "(decoded)";
}

TEST(JpegHuffmanTable, MoreThan256CodesIsRefusedBeforeStbReadsIt) {
  std::string ok(16, '\0');
  ok[0] = 12;  // a legal table of 12 codes, then one of 255 + 45 = 300
  std::string bad(16, '\0');
  bad[0] = char(255);
  bad[1] = 45;
  EXPECT_EQ(error_of(jpeg_with_dht(table(0x00, ok) + table(0x10, bad))),
            "bad.jpg: corrupt JPEG: a Huffman table (DHT segment) declares 300 codes, at most 256");
}

TEST(JpegHuffmanTable, LegalTablesReachTheDecoder) {
  std::string ok(16, '\0');
  ok[7] = char(200);
  ok[8] = 56;  // exactly 256 codes: allowed; the file (no frame) then fails in stb
  const std::string msg = error_of(jpeg_with_dht(table(0x00, ok)));
  EXPECT_EQ(msg.find("Huffman"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.jpg: not a decodable image"), std::string::npos) << msg;
}

}  // namespace
