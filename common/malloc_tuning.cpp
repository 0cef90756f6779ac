#include "common/malloc_tuning.hpp"

#include <malloc.h>

namespace xpmn::common {

void tune_malloc_for_streaming() {
#ifdef M_TRIM_THRESHOLD
    // Blocks below 1 MiB come from the heap (not mmap: fresh pages each time),
    // and the heap gives memory back only when 4 MiB at its top are free.
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
#endif
}

}  // namespace xpmn::common
