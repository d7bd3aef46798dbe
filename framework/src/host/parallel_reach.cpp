#include "host/parallel_reach.hpp"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace mechlens::host {

int parallel_for_threads() {
  // One flag per thread number: each chunk marks the thread that ran it.
  const int threads = at::get_num_threads();
  std::vector<std::atomic<bool>> ran(static_cast<std::size_t>(threads));
  at::parallel_for(0, 1024, 1, [&](std::int64_t, std::int64_t) {
    const int id = at::get_thread_num();
    if (id >= 0 && id < threads) ran[static_cast<std::size_t>(id)] = true;
  });
  int count = 0;
  for (const auto& r : ran) count += r ? 1 : 0;
  return count;
}

}  // namespace mechlens::host
