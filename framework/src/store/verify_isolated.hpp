#pragma once
// `mechlens verify` in a child process. Random damage to an archive's metadata
// (object headers, B-trees, heaps) does not always make the HDF5 library fail
// cleanly: measured on a toy archive with 8 random metadata bytes changed,
// about 1 in 6 damaged files crashed the reading process (SIGSEGV, or glibc's
// "double free" abort), and HDF5 can also loop. So the walk runs in a forked
// child that reports each object it starts reading over a pipe; the parent
// reports a crash, or a walk that made no progress for `stall_seconds`
// (then killed), as damaged metadata at the last object named, and always
// returns. A slab read is at most 64 MiB, so progress never legitimately
// pauses for long.
#include <string>

#include "store/verify.hpp"

namespace mechlens::store {

// As verify_archive; throws only if `path` is missing or the child cannot be started.
VerifyReport verify_archive_isolated(const std::string& path, double stall_seconds = 60.0);

}  // namespace mechlens::store
