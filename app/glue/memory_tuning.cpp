#include "app/glue/memory_tuning.h"

#include <algorithm>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace souplab::gui {

bool capMallocArenas() {
#if defined(__GLIBC__)
  const int arenas = int(std::max(2u, std::thread::hardware_concurrency()));
  return mallopt(M_ARENA_MAX, arenas) == 1;
#else
  return false;
#endif
}

bool returnFreedMemory() {
#if defined(__GLIBC__)
  return malloc_trim(0) == 1;
#else
  return false;
#endif
}

}  // namespace souplab::gui
