#pragma once
// How many threads at::parallel_for reaches in mechlens' own code.
//
// at::parallel_for is a header template: compiled without OpenMP it runs
// every range on the calling thread, whatever at::get_num_threads() says.
// mechlens' attention products ran that way until issue 14 found it (half
// their speed on 2 cores). The build links OpenMP into every component;
// this checks that it took, for the run log and a test.

namespace mechlens::host {

// Distinct threads that ran a part of one parallel_for over many items
// (at most at::get_num_threads()).
int parallel_for_threads();

}  // namespace mechlens::host
