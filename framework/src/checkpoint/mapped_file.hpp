#pragma once
// A whole file mapped read-only. Views and zero-copy tensors hold a
// shared_ptr to it, so the mapping lives as long as any of them.
#include <cstddef>
#include <string>

namespace mechlens::checkpoint {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // error names the file
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  // Whether [p, p + n) lies inside the mapping (tests check zero-copy aliasing).
  bool contains(const void* p, std::size_t n = 0) const;
  // Lets the kernel drop this process's pages wholly inside [p, p + n) (a
  // tensor the loader copied elsewhere): they leave the resident set, and
  // reading them again maps them back from the file, unchanged.
  void release(const void* p, std::size_t n) const;

 private:
  std::string path_;
  const std::byte* data_ = nullptr;  // null for an empty file (mmap refuses length 0)
  std::size_t size_ = 0;
};

}  // namespace mechlens::checkpoint
