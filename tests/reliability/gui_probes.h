#pragma once
// Probes of the GUI reliability tests (test_gui_responsiveness's approach, test_soak): a heartbeat
// that measures how long the GUI thread stays away from its event loop, a way to run that event
// loop until a condition holds, and the process's resident memory. Header-only, no Q_OBJECT (so
// no moc), Qt Core only.
#include <QElapsedTimer>
#include <QEventLoop>
#include <QObject>
#include <QTimer>
#include <QtGlobal>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace souplab::test {

// A heartbeat on the GUI thread: a PreciseTimer every intervalMs. The longest gap between two
// beats is the longest time the thread did not get back to its event loop (plus up to one
// interval of timer slack); worstStallMs takes the interval off, so 0 is a loop that never waits.
class StallProbe {
 public:
  explicit StallProbe(int intervalMs = 10) : m_intervalMs(intervalMs) {
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setInterval(intervalMs);
    QObject::connect(&m_timer, &QTimer::timeout, &m_timer, [this] {
      const qint64 gap = m_sinceBeat.restart();
      m_worstGapMs = std::max(m_worstGapMs, gap);
      if (gap - m_intervalMs > 100) ++m_over100ms;
      ++m_beats;
    });
  }
  StallProbe(const StallProbe&) = delete;
  StallProbe& operator=(const StallProbe&) = delete;

  void start() {
    m_sinceBeat.start();
    m_timer.start();
  }
  void stop() { m_timer.stop(); }
  // Forgets the gaps so far (a warm-up that must not count); the next gap is measured from now.
  void reset() {
    m_worstGapMs = 0;
    m_over100ms = 0;
    m_beats = 0;
    m_sinceBeat.restart();
  }

  int intervalMs() const { return m_intervalMs; }
  qint64 worstGapMs() const { return m_worstGapMs; }  // 0 before the first beat
  qint64 worstStallMs() const { return std::max<qint64>(0, m_worstGapMs - m_intervalMs); }
  int stallsOver100ms() const { return m_over100ms; }
  int beats() const { return m_beats; }

 private:
  int m_intervalMs;
  QTimer m_timer;
  QElapsedTimer m_sinceBeat;
  qint64 m_worstGapMs = 0;
  int m_over100ms = 0;
  int m_beats = 0;
};

// Runs the calling thread's event loop until done() holds, polled every pollMs. A real
// QEventLoop, not QTest::qWait: qWait sleeps 10 ms between batches of events, which a 10 ms
// heartbeat would count as stalls of the code under test.
inline void runEventLoopUntil(const std::function<bool()>& done, int pollMs = 50) {
  if (done()) return;
  QEventLoop loop;
  QTimer poll;
  QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
    if (done()) loop.quit();
  });
  poll.start(pollMs);
  loop.exec();
}

// The event loop for `ms` milliseconds (queued signals arrive, timers fire).
inline void runEventLoopFor(int ms) {
  QElapsedTimer clock;
  clock.start();
  runEventLoopUntil([&] { return clock.elapsed() >= ms; }, std::max(1, std::min(ms, 50)));
}

// This process's resident set (VmRSS of /proc/self/status) in MiB; -1 where there is none.
// std::ifstream, not QFile: /proc files report size 0, which QFile's atEnd takes at its word.
inline double residentSetMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));  // "   123456 kB"
    double kb = -1;
    fields >> kb;
    return kb >= 0 ? kb / 1024.0 : -1.0;
  }
  return -1.0;
}

}  // namespace souplab::test
