// Heap settings for a process that streams media: transfers allocate and
// free buffers of 64–300 KiB at a high rate. With glibc's defaults the heap
// top is trimmed back to the kernel between two such buffers and grown
// again for the next, so a quarter of the relay's time went to page faults
// and brk (perf, docs/benchmarks.md). Keeping a few MiB of free heap costs
// little RSS and removes that churn.
#pragma once

namespace xpmn::common {

// Call first thing in main(). Best effort: a libc without mallopt keeps its defaults.
void tune_malloc_for_streaming();

}  // namespace xpmn::common
