// at::parallel_for in libmechlens' own code reaches every thread: the build
// compiled it with OpenMP (without, the attention products run on one
// thread whatever the thread count, and nothing else would notice).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "host/parallel_reach.hpp"

namespace mechlens {
namespace {

TEST(ParallelReach, ParallelForInMechlensReachesEveryThread) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(host::parallel_for_threads(), 2);
  at::set_num_threads(1);
  EXPECT_EQ(host::parallel_for_threads(), 1);
  at::set_num_threads(before);
}

}  // namespace
}  // namespace mechlens
