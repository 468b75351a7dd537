// Sharing the cores between a training and the other work of one process: while a training
// claims its threads, another thread's libtorch team shrinks to what is left (at least one),
// without touching the training thread's own team; it grows back when the training ends.
// Background work rests between pieces only while a training runs.
#include <QtTest>

#include <thread>

#include "app/glue/core_share.h"
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
    {
      const TrainingCoresClaim one(1);  // a training at one thread leaves the rest
      QCOMPARE(coresLeftForOtherWork(), std::max(1, cores - 1));
      // Background work rests beside any training: 3x its own time (a quarter of a core).
      QCOMPARE(restAfterBackgroundWorkMs(20.0), 60);
    }
    QCOMPARE(restAfterBackgroundWorkMs(20.0), 0);  // alone it does not wait
  }
};

QTEST_APPLESS_MAIN(TestCoreShare)
#include "test_core_share.moc"
