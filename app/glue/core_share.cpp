#include "app/glue/core_share.h"

#include <algorithm>
#include <atomic>
#include <thread>

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
  thread_local int current = 0;  // what this thread was set to last
  const int want = coresLeftForOtherWork();
  if (want == current) return;
  souplab::set_this_thread_torch_threads(want);
  current = want;
}

}  // namespace souplab::gui
