// Ctrl-C / kill in the GUI: SIGINT and SIGTERM become QuitSignals::quitRequested on the GUI
// thread, and the main window, asked to close without confirmation as app/gui/main.cpp does,
// stops a REAL training run with a checkpoint (no dialog left waiting for an answer).
#include <QtTest>

#include <QMessageBox>
#include <QTemporaryDir>
#include <csignal>

#include "app/glue/quick_start.h"
#include "app/glue/training_session.h"
#include "app/glue/quit_signals.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "ui/main_window.h"
#include "ui/training/training_monitor.h"
#include "ui_test_corpus.h"

using souplab::gui::MainWindow;
using souplab::gui::QuitSignals;
using State = souplab::gui::TrainingMonitor::State;

class TestQuitSignals : public QObject {
  Q_OBJECT

  QTemporaryDir m_tmp;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    QStandardPaths::setTestModeEnabled(true);  // QSettings away from the user's
    souplab::test::isolateIn(m_tmp);
    // Closing the window must not end the test process's event handling.
    QApplication::setQuitOnLastWindowClosed(false);
  }

  void signalBecomesQtSignalOnce() {
    QuitSignals quit;
    QVERIFY(quit.isInstalled());
    QVERIFY(!QuitSignals().isInstalled());  // one owner of the process-wide handler
    QSignalSpy spy(&quit, &QuitSignals::quitRequested);
    ::raise(SIGTERM);  // handled: the process goes on
    QTRY_COMPARE(spy.size(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), int(SIGTERM));
    // One-shot: the next SIGTERM would take the default action (end the process at once).
    struct sigaction now = {};
    ::sigaction(SIGTERM, nullptr, &now);
    QVERIFY(now.sa_handler == SIG_DFL);
    ::sigaction(SIGINT, nullptr, &now);
    QVERIFY(now.sa_handler != SIG_DFL);
  }

  void sigintStopsTrainingWithACheckpoint() {
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    QVERIFY(!corpus.isEmpty());
    MainWindow window;
    window.show();
    QuitSignals quit;
    QVERIFY(quit.isInstalled());
    bool quitAsked = false;
    // As app/gui/main.cpp wires it (quit() is left out: this test is the event loop's owner).
    connect(&quit, &QuitSignals::quitRequested, &window, [&](int) {
      window.closeWithoutConfirmation();
      quitAsked = true;
    });
    souplab::gui::TrainRequest request = souplab::gui::tinyRequest(corpus, 100000);
    request.config.train.checkpoint_interval = 100000;  // only the stop writes one
    qint64 lastStep = 0;  // progress reports come every log_interval steps
    connect(window.monitor()->session(), &souplab::gui::TrainingSession::stepProgress, this,
            [&](const souplab::TrainProgress& p) { lastStep = p.step; });
    QVERIFY(window.monitor()->startRun(request));
    QTRY_VERIFY_WITH_TIMEOUT(window.monitor()->state() == State::Running, 300000);
    // Past the first steps (waiting on progress, not a fixed time: a loaded machine is slow).
    QTRY_VERIFY_WITH_TIMEOUT(lastStep > 0, 300000);

    ::raise(SIGINT);
    QTRY_VERIFY_WITH_TIMEOUT(quitAsked, 60000);
    // Stopped and joined inside close(); the monitor hears of it with the next events.
    QTRY_VERIFY_WITH_TIMEOUT(!window.monitor()->isTraining(), 10000);
    QVERIFY(!window.isVisible());
    for (QWidget* w : QApplication::topLevelWidgets())
      QVERIFY2(!qobject_cast<QMessageBox*>(w) || !w->isVisible(), "a dialog asks a question");

    const auto runs = souplab::RunLog(souplab::default_run_log_path()).list_runs();
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(QString::fromStdString(runs[0].status), QStringLiteral("stopped"));
    QVERIFY2(QFile::exists(QString::fromStdString(runs[0].checkpoint_path)),
             runs[0].checkpoint_path.c_str());
    QVERIFY(runs[0].checkpoint_step.value_or(0) > 0);
  }
};

QTEST_MAIN(TestQuitSignals)
#include "test_quit_signals.moc"
