// Sharing the cores between a training and the other work of one process: while a training
// claims its threads, another thread's libtorch team shrinks to what is left (at least one),
// without touching the training thread's own team; it grows back when the training ends.
// Background work rests between pieces only while a training runs.
#include <QtTest>

#include <QFile>

#include <thread>
#include <vector>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "app/glue/core_share.h"
#include "app/glue/memory_tuning.h"
#include "souplab/device.h"

using namespace souplab::gui;

class TestCoreShare : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void otherWorkTakesWhatTheTrainingLeaves() {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    if (cores < 2) QSKIP("needs 2 cores to see a team shrink");
    souplab::set_torch_threads(0);  // the "training" thread: every core
    QCOMPARE(souplab::torch_threads(), cores);
    QCOMPARE(coresLeftForOtherWork(), cores);

    int during = 0, after = 0;
    {
      const TrainingCoresClaim claim(0);  // a training on every core
      QCOMPARE(coresLeftForOtherWork(), 1);
      std::thread worker([&] {
        fitThisThreadToFreeCores();
        during = souplab::torch_threads();
      });
      worker.join();
      // The claiming thread's own team is untouched.
      QCOMPARE(souplab::torch_threads(), cores);
    }
    QCOMPARE(coresLeftForOtherWork(), cores);
    std::thread worker([&] {
      fitThisThreadToFreeCores();
      after = souplab::torch_threads();
    });
    worker.join();
    QCOMPARE(during, 1);
    QCOMPARE(after, cores);
    // Model::load sizes the loading thread's team to every core; beside a training the next fit
    // must shrink it again (a cached size once left the explorer's service at 2 threads).
    if (cores >= 2) {
      const TrainingCoresClaim claim(0);
      int refit = 0, afterLoad = 0;
      std::thread worker([&] {
        fitThisThreadToFreeCores();
        souplab::set_torch_threads(0);  // what Model::load does on the thread that loads
        afterLoad = souplab::torch_threads();
        fitThisThreadToFreeCores();
        refit = souplab::torch_threads();
      });
      worker.join();
      QCOMPARE(afterLoad, cores);
      QCOMPARE(refit, 1);
    }
    {
      const TrainingCoresClaim one(1);  // a training at one thread leaves the rest
      QCOMPARE(coresLeftForOtherWork(), std::max(1, cores - 1));
      // Background work rests beside any training: 3x its own time (a quarter of a core).
      QCOMPARE(restAfterBackgroundWorkMs(20.0), 60);
    }
    QCOMPARE(restAfterBackgroundWorkMs(20.0), 0);  // alone it does not wait
  }

  // The background class lowers the calling thread's priority and no other thread's: the
  // process's other threads (the GUI, the training) keep theirs.
  void backgroundWorkYieldsOnlyItsOwnThread() {
#ifndef __linux__
    QSKIP("thread priorities are Linux-only here");
#else
    const auto niceOf = [](long tid) {
      errno = 0;
      return ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    };
    const long mainTid = ::syscall(SYS_gettid);
    const int mainBefore = niceOf(mainTid);
    if (mainBefore >= 10) QSKIP("the test runs at nice >= 10 already: nothing to lower");
    int first = 0, second = 0, seen = 0;
    std::thread worker([&] {
      first = runThisThreadInBackground();
      second = runThisThreadInBackground();  // once per thread: no further lowering
      seen = niceOf(::syscall(SYS_gettid));
    });
    worker.join();
    QCOMPARE(first, 10);
    QCOMPARE(second, 10);
    QCOMPARE(seen, 10);
    QCOMPARE(niceOf(mainTid), mainBefore);
    // A thread started afterwards by the main thread is not in the background class.
    int fresh = -100;
    std::thread other([&] { fresh = niceOf(::syscall(SYS_gettid)); });
    other.join();
    QCOMPARE(fresh, mainBefore);
#endif
  }

  // Freed heap memory that malloc keeps (each block sits between live ones, so neither the heap's
  // top nor a whole heap can go back by free() alone) returns to the system: RSS falls to near
  // where it was before the blocks were made.
  void freedMemoryGoesBack() {
#if !defined(__GLIBC__) || !defined(__linux__)
    QSKIP("malloc_trim and /proc/self/statm are glibc/Linux");
#else
    const auto rssMb = [] {
      QFile statm(QStringLiteral("/proc/self/statm"));
      if (!statm.open(QIODevice::ReadOnly)) return -1.0;
      const QList<QByteArray> f = statm.readAll().split(' ');
      return f.size() > 1 ? f[1].toDouble() * double(::sysconf(_SC_PAGESIZE)) / (1 << 20) : -1.0;
    };
    constexpr size_t kBlock = 64 << 10, kBlocks = 2048;  // 128 MiB in blocks below the mmap threshold
    double before = 0, filled = 0, freed = 0, trimmed = 0;
    bool returned = false;
    std::thread worker([&] {  // a thread of its own: its own arena, as a job's thread has
      before = rssMb();
      std::vector<char*> blocks, pins;
      for (size_t i = 0; i < kBlocks; ++i) {
        blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
        for (size_t b = 0; b < kBlock; b += 4096) blocks.back()[b] = char(i);  // touch every page
        pins.push_back(static_cast<char*>(std::malloc(64)));  // stays live between the blocks
        pins.back()[0] = char(i);
      }
      filled = rssMb();
      for (char* b : blocks) std::free(b);
      freed = rssMb();
      returned = returnFreedMemory();
      trimmed = rssMb();
      for (char* p : pins) std::free(p);
    });
    worker.join();
    qInfo("RSS: %.0f MiB before, %.0f MiB filled, %.0f MiB after free, %.0f MiB after returnFreedMemory", before,
          filled, freed, trimmed);
    QVERIFY2(filled > before + 96, "the blocks were not resident: nothing for the test to see");
    QVERIFY2(freed > before + 96, "free() alone returned the blocks: nothing for the test to see");
    QVERIFY(returned);
    QVERIFY(trimmed < before + 24);
#endif
  }
};

QTEST_APPLESS_MAIN(TestCoreShare)
#include "test_core_share.moc"
