#include "app/glue/core_share.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "souplab/device.h"

namespace souplab::gui {
namespace {

std::atomic<int> g_claimed{0};  // threads of the trainings running now

int cores() { return int(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

TrainingCoresClaim::TrainingCoresClaim(int threads) : m_threads(threads > 0 ? threads : cores()) {
  g_claimed += m_threads;
}

TrainingCoresClaim::~TrainingCoresClaim() { g_claimed -= m_threads; }

int coresLeftForOtherWork() { return std::max(1, cores() - g_claimed.load()); }

int restAfterBackgroundWorkMs(double workMs) {
  constexpr double kRestPerWork = 3.0;  // a duty cycle of 1/4
  return g_claimed.load() > 0 ? int(kRestPerWork * workMs + 0.5) : 0;
}

void fitThisThreadToFreeCores() {
  // Compared with the thread's team as it is now, not with what was set here last: Model::load
  // sizes the loading thread's team to every core (the thread that loads is usually the one that
  // runs), and a cached "already 1" then left the explorer's service at 2 threads beside a
  // training after every reference switch (the soak: its OpenMP worker spinning at barriers).
  souplab::set_this_thread_torch_threads(coresLeftForOtherWork());  // no-op when unchanged
}

int runThisThreadInBackground() {
#ifdef __linux__
  // setpriority(PRIO_PROCESS, tid) sets one thread's nice on Linux (threads are tasks).
  constexpr int kBackgroundNice = 10;  // weight 110 against 1024 at nice 0: ~10 % when contended
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  thread_local bool lowered = false;
  if (!lowered) {
    errno = 0;
    const int now = ::getpriority(PRIO_PROCESS, tid);
    if (errno == 0 && now < kBackgroundNice) ::setpriority(PRIO_PROCESS, tid, kBackgroundNice);
    lowered = true;
  }
  errno = 0;
  return ::getpriority(PRIO_PROCESS, tid);
#else
  return 0;
#endif
}

}  // namespace souplab::gui
