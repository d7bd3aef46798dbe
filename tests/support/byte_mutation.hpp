#pragma once
// Deterministic byte-mutation fuzzing for the parsers' tests (issue 9): from a
// valid input, seeded mutations (flip a bit, set a byte to a boundary value,
// insert, delete, duplicate a run, truncate), a fixed number per seed, so a
// failure reproduces from its seed and iteration. The property checked by the
// callers: the parser either succeeds or throws mechlens::Error — no other
// exception, no crash, no hang (the count bounds the time).
#include <cstdint>
#include <random>
#include <string>

namespace mechlens::testing {

inline std::string mutate(const std::string& input, std::mt19937& rng, int edits) {
  std::string s = input;
  static const unsigned char boundary[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"', '[', ']', '{', '}', '=', '\n', '\\'};
  for (int e = 0; e < edits; ++e) {
    if (s.empty()) s.push_back('\0');
    std::uniform_int_distribution<std::size_t> at(0, s.size() - 1);
    const std::size_t i = at(rng);
    switch (rng() % 6) {
      case 0: s[i] = static_cast<char>(s[i] ^ (1u << (rng() % 8))); break;
      case 1: s[i] = static_cast<char>(boundary[rng() % sizeof boundary]); break;
      case 2: s.insert(i, 1, static_cast<char>(rng() % 256)); break;
      case 3: s.erase(i, 1 + rng() % 4); break;
      case 4: s.insert(i, s.substr(i, 1 + rng() % 16)); break;
      default: s.resize(i); break;
    }
  }
  return s;
}

}  // namespace mechlens::testing
