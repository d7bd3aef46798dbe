#pragma once
// Loading the golden fixtures written by tools/fixtures/make_image_golden.py
// (Pillow + numpy), and the same crop summaries computed here.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vision/image.hpp"

namespace vision_test {

using json = nlohmann::json;

inline std::string fixture(const std::string& name) { return std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/" + name; }

inline json load_json(const std::string& name) {
  std::ifstream in(fixture(name));
  if (!in) throw std::runtime_error("missing fixture " + fixture(name) + " (run tools/fixtures/make_image_golden.py)");
  return json::parse(in);
}

// The script's checksum: sum(byte[i] * (splitmix64(i) | 1)) mod 2^64.
inline std::uint64_t splitmix_weight(std::uint64_t i) {
  std::uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) | 1ull;
}

inline std::uint64_t checksum(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) s += bytes[i] * splitmix_weight(i);
  return s;
}

// An HWC uint8 image against a u8 summary {shape, checksum, sum, sum_sq, samples}.
inline void expect_u8_matches(const mechlens::vision::RgbImage& img, const json& g, const std::string& what) {
  ASSERT_EQ(img.height, g["shape"][0].get<int>()) << what;
  ASSERT_EQ(img.width, g["shape"][1].get<int>()) << what;
  std::int64_t sum = 0, sum_sq = 0;
  for (std::uint8_t v : img.pixels) {
    sum += v;
    sum_sq += std::int64_t(v) * v;
  }
  int wrong = 0, max_diff = 0;
  for (const auto& s : g["samples"]) {
    const int got = img.pixels.at(s[0].get<std::size_t>()), want = s[1].get<int>();
    if (got != want) ++wrong;
    max_diff = std::max(max_diff, std::abs(got - want));
  }
  EXPECT_EQ(wrong, 0) << what << ": " << wrong << " of " << g["samples"].size() << " sampled values differ, max |diff| " << max_diff;
  EXPECT_EQ(sum, g["sum"].get<std::int64_t>()) << what;
  EXPECT_EQ(sum_sq, g["sum_sq"].get<std::int64_t>()) << what;
  EXPECT_EQ(std::to_string(checksum(img.pixels)), g["checksum"].get<std::string>()) << what << ": some pixel differs";
}

}  // namespace vision_test
