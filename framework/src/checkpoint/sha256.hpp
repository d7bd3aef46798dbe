#pragma once
// SHA-256 (FIPS 180-4), small and self-contained: checkpoint identities hash
// config.json and the tensor headers, and no crypto library is linked.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mechlens::checkpoint {

class Sha256 {
 public:
  Sha256();
  Sha256& update(const void* data, std::size_t size);
  Sha256& update(const std::string& bytes) { return update(bytes.data(), bytes.size()); }
  std::string hex();  // finishes the hash: lower-case, 64 digits

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes hashed so far
};

std::string sha256_hex(const std::string& bytes);
std::string sha256_file_hex(const std::string& path);  // error names the file

}  // namespace mechlens::checkpoint
