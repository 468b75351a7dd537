// The GUI stays responsive while a bank trains: the GUI's own training path (TrainingSession, a
// ThreadedJob with a thread of its own) trains the default-size model for a few seconds while a
// 10 ms QTimer heartbeat on the GUI thread measures the longest gap between two beats. The gap must
// stay under 100 ms. SOUPLAB_RESPONSIVENESS_SECONDS sets the measuring time (default 10).
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include "app/glue/training_session.h"
#include "tests/ui/ui_test_corpus.h"

using namespace souplab;
using namespace souplab::gui;

class TestGuiResponsiveness : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void heartbeatStaysUnder100msWhileTraining() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    qputenv("SOUPLAB_DATA_DIR", tmp.filePath("data").toUtf8());
    qputenv("SOUPLAB_CACHE_DIR", tmp.filePath("cache").toUtf8());
    const QString corpus = souplab::test::writeUiTestCorpus(tmp.filePath("corpus"));
    QVERIFY(!corpus.isEmpty());

    TrainRequest req;  // the default model size (docs/DESIGN.md §2.3), the GUI's defaults
    req.config.train.corpus_dir = corpus.toStdString();
    req.config.train.out_dir = tmp.filePath("run").toStdString();
    req.config.train.device = "cpu";
    req.config.train.steps = 100000;        // stopped by the test long before
    req.config.train.eval_interval = 20;    // evaluations and checkpoints happen in the window
    req.config.train.checkpoint_interval = 10;
    req.config.train.log_interval = 1;
    req.config.train.eval_windows = 2;      // keep step 0's evaluation short on a loaded machine
    req.runLogPath = tmp.filePath("runs.sqlite");

    TrainingSession session;
    int64_t lastStep = 0, firstStep = -1;
    int evals = 0, checkpoints = 0;
    QString failure;
    bool started = false;
    connect(&session, &TrainingSession::started, this, [&] { started = true; });
    connect(&session, &TrainingSession::stepProgress, this, [&](const TrainProgress& p) {
      lastStep = p.step;
      if (firstStep < 0) firstStep = p.step;
    });
    connect(&session, &TrainingSession::evaluated, this, [&](const EvalResult&) { ++evals; });
    connect(&session, &TrainingSession::checkpointSaved, this, [&](const QString&, qint64) { ++checkpoints; });
    connect(&session, &TrainingSession::failed, this, [&](const QString& m) { failure = m; });
    QVERIFY(session.start(req));
    QTRY_VERIFY_WITH_TIMEOUT(started || !failure.isEmpty(), 120000);
    QVERIFY2(failure.isEmpty(), qPrintable(failure));

    const int seconds = qEnvironmentVariableIsSet("SOUPLAB_RESPONSIVENESS_SECONDS")
                            ? qEnvironmentVariableIntValue("SOUPLAB_RESPONSIVENESS_SECONDS")
                            : 10;
    QElapsedTimer clock, sinceBeat;
    qint64 worstMs = 0;
    int beats = 0;
    QTimer heartbeat;
    heartbeat.setTimerType(Qt::PreciseTimer);
    heartbeat.setInterval(10);
    connect(&heartbeat, &QTimer::timeout, this, [&] {
      worstMs = std::max(worstMs, sinceBeat.restart());
      ++beats;
    });
    // Measure for `seconds`, and on until a few steps have trained (a loaded machine may still
    // be in step 0's evaluation by then), but never longer than 4 minutes.
    QEventLoop loop;
    QTimer until;
    connect(&until, &QTimer::timeout, this, [&] {
      if ((clock.elapsed() >= seconds * 1000 && lastStep >= 3) || clock.elapsed() >= 240000) loop.quit();
    });
    until.start(100);
    clock.start();
    sinceBeat.start();
    heartbeat.start();
    loop.exec();
    heartbeat.stop();

    QElapsedTimer stopping;
    stopping.start();
    session.stop();
    QVERIFY(session.stopAndWait(120000));
    qInfo("%d beats in %lld ms, longest gap %lld ms; trained steps %lld..%lld (%d evaluations, %d "
          "checkpoints); stop took %lld ms",
          beats, static_cast<long long>(clock.elapsed()), static_cast<long long>(worstMs),
          static_cast<long long>(firstStep), static_cast<long long>(lastStep), evals, checkpoints,
          static_cast<long long>(stopping.elapsed()));
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
    QVERIFY2(lastStep > 0, "no training step finished while measuring");
    QVERIFY2(worstMs < 100, qPrintable(QStringLiteral("the GUI thread stalled %1 ms").arg(worstMs)));
  }
};

QTEST_MAIN(TestGuiResponsiveness)
#include "test_gui_responsiveness.moc"
