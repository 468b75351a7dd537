#pragma once
// The newest request wins (Qt-free): the GUI thread stores each request in one slot, replacing
// any the worker has not taken yet, and learns whether to post a wake-up (at most one is ever
// pending); the worker takes the newest request and, while it works on it, can ask whether a
// newer one has come in. Intermediate requests are dropped, never queued, so a burst of 50
// slider moves costs at most 2 instantiations (the first may already be running).
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace souplab::gui {

template <typename Request>
class LatestRequest {
 public:
  struct Taken {
    uint64_t generation;
    Request request;
  };

  // GUI thread. Calls `wake` (which posts the worker its wake-up) unless one is pending, and
  // returns the request's generation, echoed with the result so the caller can time it.
  template <typename Wake>
  uint64_t put(Request request, const Wake& wake) {
    bool post = false;
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_latest = std::move(request);
      generation = ++m_generation;
      post = !m_wakePending;
      m_wakePending = true;
    }
    if (post) wake();
    return generation;
  }

  // Worker thread, in the posted wake-up: the newest request not yet taken. Nothing while the
  // worker is not `ready` (the request stays pending for a later take).
  std::optional<Taken> take(bool ready = true) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_wakePending = false;
    if (!ready || m_handled == m_generation) return std::nullopt;
    m_handled = m_generation;
    return Taken{m_generation, m_latest};
  }

  // Worker thread: a request newer than the one taken last is waiting.
  bool newerWaiting() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_handled != m_generation;
  }

  // Worker thread: the requests made so far are void (made for inputs since replaced).
  void dropPending() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_handled = m_generation;
  }

 private:
  mutable std::mutex m_mutex;
  Request m_latest{};
  uint64_t m_generation = 0;  // bumped by every request
  uint64_t m_handled = 0;     // generation taken by the worker last
  bool m_wakePending = false; // a wake-up is posted and has not run yet
};

}  // namespace souplab::gui
