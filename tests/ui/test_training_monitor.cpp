// The training monitor on a short REAL run (tiny model, generated corpus): curves receive
// points, the run finishes; pause holds the step, resume continues, stop leaves a checkpoint;
// the CSV export has one row per stored point.
#include <QtTest>

#include <QComboBox>
#include <QProgressBar>
#include <QSpinBox>
#include <QTemporaryDir>

#include "app/glue/baseline_runs.h"
#include "app/glue/quick_start.h"
#include "souplab/device.h"
#include "souplab/model.h"
#include "souplab/run_log.h"
#include "ui/training/loss_plot.h"
#include "ui/training/new_run_dialog.h"
#include "ui/training/training_monitor.h"
#include "ui_test_corpus.h"

using souplab::gui::LossPlot;
using souplab::gui::TrainingMonitor;
using State = TrainingMonitor::State;

class TestTrainingMonitor : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_tmp;
  QString m_corpus;
  QString m_log;

  souplab::gui::TrainRequest tiny(int steps) const {
    souplab::gui::TrainRequest r = souplab::gui::tinyRequest(m_corpus, steps);
    // A folder per run: a new run refuses a folder that holds another run's checkpoints.
    static int runs = 0;
    r.config.train.out_dir =
        QDir(m_tmp.path()).filePath(QStringLiteral("out%1-%2").arg(steps).arg(++runs)).toStdString();
    r.runLogPath = m_log;
    return r;
  }
  static bool ended(const TrainingMonitor& m) {
    return m.state() == State::Finished || m.state() == State::Stopped ||
           m.state() == State::Failed;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    QStandardPaths::setTestModeEnabled(true);  // QSettings away from the user's
    qputenv("SOUPLAB_DATA_DIR", QDir(m_tmp.path()).filePath("data").toUtf8());
    qputenv("SOUPLAB_CACHE_DIR", QDir(m_tmp.path()).filePath("cache").toUtf8());
    m_corpus = souplab::test::writeUiTestCorpus(QDir(m_tmp.path()).filePath("corpus"));
    QVERIFY(!m_corpus.isEmpty());
    m_log = QDir(m_tmp.path()).filePath("runs.sqlite");
  }

  void fullRunFillsThePlots() {
    TrainingMonitor monitor;
    monitor.resize(1000, 700);
    monitor.show();
    QSignalSpy checkpoints(&monitor, &TrainingMonitor::checkpointSaved);
    QVERIFY(monitor.startRun(tiny(30)));
    QVERIFY(monitor.isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(ended(monitor), 300000);
    QCOMPARE(monitor.state(), State::Finished);
    QVERIFY(!monitor.isTraining());
    QVERIFY(monitor.runId() > 0);
    QCOMPARE(monitor.domains().size(), 3);

    LossPlot* train = monitor.trainPlot();
    LossPlot* val = monitor.valPlot();
    train->replotNow();
    val->replotNow();
    QVERIFY(train->pointCount("train") >= 10);  // log_interval 2 over 30 steps
    QVERIFY(train->drawnPointCount("train") > 0);
    QCOMPARE(val->graphCount(), 6);  // uniform + specialist per domain
    for (const QString& d : monitor.domains()) {
      QVERIFY2(val->pointCount("u:" + d) >= 3, qPrintable(d));  // steps 10, 20, 30
      QVERIFY2(val->pointCount("s:" + d) >= 3, qPrintable(d));
      QVERIFY(val->drawnPointCount("u:" + d) > 0);
    }
    QVERIFY(!monitor.lastCheckpoint().isEmpty());
    QVERIFY(QFileInfo::exists(monitor.lastCheckpoint()));
    QVERIFY(checkpoints.count() >= 1);
    QCOMPARE(monitor.findChild<QProgressBar*>()->value(), 30);

    // Validation view combo: "uniform only" hides the dashed specialist curves.
    monitor.setValidationView(1);
    QVERIFY(val->isSeriesVisible("u:" + monitor.domains().first()));
    QVERIFY(!val->isSeriesVisible("s:" + monitor.domains().first()));

    // CSV: header + one row per stored point of every series.
    const QString csv = QDir(m_tmp.path()).filePath("val.csv");
    QString error;
    QVERIFY2(val->exportCsv(csv, &error), qPrintable(error));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.first(), QStringLiteral("step,series,value"));
    int points = 0;
    for (const QString& key : val->seriesKeys()) points += val->pointCount(key);
    QCOMPARE(lines.size() - 1, points);
    QCOMPARE(lines[1].split(',').size(), 3);

    // Images: PNG and PDF are written and not empty.
    for (const char* name : {"val.png", "val.pdf"}) {
      const QString path = QDir(m_tmp.path()).filePath(name);
      QVERIFY2(val->exportImage(path, &error), qPrintable(error));
      QVERIFY(QFileInfo(path).size() > 1000);
    }
  }

  // "Then train a dense baseline": when the soup finishes, a dense run of the same size, steps,
  // batch and seed follows, and the explorer's picker lists it as the equal-budget baseline.
  void denseBaselineFollowsASoupThatFinishes() {
    TrainingMonitor monitor;
    QSignalSpy runs(&monitor, &TrainingMonitor::runEnded);
    souplab::gui::TrainRequest soup = tiny(20);
    soup.thenDenseBaseline = true;
    QVERIFY(monitor.startRun(soup));
    QTRY_COMPARE_WITH_TIMEOUT(runs.count(), 2, 300000);
    QTRY_VERIFY_WITH_TIMEOUT(ended(monitor), 60000);
    QCOMPARE(monitor.state(), State::Finished);
    const qint64 soupId = runs.at(0).at(0).toLongLong(), denseId = runs.at(1).at(0).toLongLong();
    QVERIFY(soupId > 0 && denseId > soupId);
    const souplab::RunLog log(m_log.toStdString());
    const souplab::RunConfig s = souplab::parse_run_config(log.get_run(soupId).config_json, "soup");
    const souplab::RunConfig d = souplab::parse_run_config(log.get_run(denseId).config_json, "dense");
    QCOMPARE(int(s.train.kind), int(souplab::ModelKind::kSoup));
    QCOMPARE(int(d.train.kind), int(souplab::ModelKind::kDense));
    QCOMPARE(d.train.steps, s.train.steps);
    QCOMPARE(d.train.batch_size, s.train.batch_size);
    QCOMPARE(d.train.seed, s.train.seed);
    QCOMPARE(d.model.n_embd, s.model.n_embd);
    QCOMPARE(d.train.corpus_dir, s.train.corpus_dir);
    // The soup's checkpoint sees it as its equal-budget baseline.
    std::string soupCheckpoint;
    for (const souplab::RunSummary& r : log.list_runs())
      if (r.id == soupId) soupCheckpoint = r.checkpoint_path;
    const auto bank = souplab::Model::load(soupCheckpoint, "cpu");
    const auto candidates = souplab::gui::dense_baselines(m_log, bank->facts());
    QVERIFY(!candidates.isEmpty());
    QCOMPARE(candidates.front().runId, denseId);
    QVERIFY(candidates.front().equalBudget);
  }

  void pauseResumeStop() {
    TrainingMonitor monitor;
    monitor.show();
    auto* bar = monitor.findChild<QProgressBar*>();
    QVERIFY(monitor.startRun(tiny(5000)));
    QTRY_VERIFY_WITH_TIMEOUT(monitor.state() == State::Running && bar->value() >= 4, 300000);

    monitor.pause();
    QTRY_COMPARE_WITH_TIMEOUT(monitor.state(), State::Paused, 60000);
    QTest::qWait(300);  // a progress report already queued may still arrive
    const int heldAt = bar->value();
    QTest::qWait(1500);
    QCOMPARE(bar->value(), heldAt);  // no step while paused
    QVERIFY(monitor.isTraining());

    monitor.resume();
    QTRY_COMPARE_WITH_TIMEOUT(monitor.state(), State::Running, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(bar->value() > heldAt, 120000);

    // Stop while paused must also work (stop wakes the pause).
    monitor.pause();
    QTRY_COMPARE_WITH_TIMEOUT(monitor.state(), State::Paused, 60000);
    monitor.stop();
    QTRY_VERIFY_WITH_TIMEOUT(ended(monitor), 120000);
    QCOMPARE(monitor.state(), State::Stopped);
    QVERIFY(!monitor.lastCheckpoint().isEmpty());
    QVERIFY(QFileInfo::exists(monitor.lastCheckpoint()));
    QVERIFY(bar->value() < 5000);
  }

  void stopAndWaitJoinsTheThread() {
    // What closing the main window does during training.
    TrainingMonitor monitor;
    QVERIFY(monitor.startRun(tiny(5000)));
    QTRY_VERIFY_WITH_TIMEOUT(monitor.state() == State::Running, 300000);
    QVERIFY(monitor.stopAndWait(120000));
    QTRY_VERIFY_WITH_TIMEOUT(ended(monitor), 10000);  // the queued end arrives after the join
    QCOMPARE(monitor.state(), State::Stopped);
    QVERIFY(QFileInfo::exists(monitor.lastCheckpoint()));
  }

  void badCorpusFailsWithAMessage() {
    TrainingMonitor monitor;
    souplab::gui::TrainRequest r = tiny(10);
    r.config.train.corpus_dir = QDir(m_tmp.path()).filePath("no-such-corpus").toStdString();
    r.buildDemoCorpus = false;
    QVERIFY(monitor.startRun(r));
    QTRY_VERIFY_WITH_TIMEOUT(ended(monitor), 60000);
    QCOMPARE(monitor.state(), State::Failed);
  }

  // The new-run dialog's presets: a preset fills the fields and measures its cost here off the
  // GUI thread; a GPU preset where there is no GPU says its time is the roofline's estimate; a
  // field changed by hand makes the run a custom one.
  void newRunDialogOffersPresetsWithTheirCost() {
    souplab::gui::NewRunDialog dialog;
    auto* preset = dialog.findChild<QComboBox*>(QStringLiteral("presetCombo"));
    QVERIFY(preset);
    QVERIFY(preset->count() >= 5);  // custom + the presets
    QVERIFY(dialog.choosePreset(QStringLiteral("cpu-night")));
    const souplab::gui::TrainRequest r = dialog.request();
    QCOMPARE(r.config.model.n_layer, 4);
    QCOMPARE(r.config.model.n_embd, 128);
    QCOMPARE(r.config.train.steps, int64_t(75000));
    QTRY_VERIFY_WITH_TIMEOUT(dialog.estimateText().contains("measured here"), 120000);
    QVERIFY2(dialog.estimateText().contains("tokens"), qPrintable(dialog.estimateText()));
    QVERIFY(dialog.choosePreset(QStringLiteral("gpu-30min")));
    if (!souplab::cuda_available())
      QTRY_VERIFY_WITH_TIMEOUT(dialog.estimateText().contains("roofline"), 120000);
    QVERIFY(dialog.choosePreset(QStringLiteral("quick")));
    QCOMPARE(preset->currentData().toString(), QStringLiteral("quick"));
    const auto spins = dialog.findChildren<QSpinBox*>();
    QVERIFY(!spins.isEmpty());
    spins.front()->setValue(spins.front()->value() + 1);  // a field by hand: custom again
    QCOMPARE(preset->currentIndex(), 0);
    QVERIFY(!dialog.choosePreset(QStringLiteral("no-such-preset")));
  }
};

QTEST_MAIN(TestTrainingMonitor)
#include "test_training_monitor.moc"
