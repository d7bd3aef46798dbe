#include "host/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mechlens::host {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);                     // large blocks from the heap too (weights are mapped by the loader, not malloc'd)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);          // do not give freed heap tops back to the kernel at every free
  mallopt(M_TOP_PAD, 64 << 20);                // grow the heap in steps of 64 MiB
#endif
}

}  // namespace mechlens::host
