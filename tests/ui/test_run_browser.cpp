// The run browser lists the runs of a RunLog and overlays the selected runs' validation curves.
#include <QtTest>

#include <QStandardItemModel>
#include <QTableView>
#include <QTemporaryDir>

#include "souplab/run_log.h"
#include "ui/runs/run_browser.h"
#include "ui/training/loss_plot.h"

using souplab::gui::RunBrowser;

class TestRunBrowser : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void listsRunsAndOverlaysSelection() {
    QTemporaryDir tmp;
    const QString path = QDir(tmp.path()).filePath("runs.sqlite");
    std::vector<int64_t> ids;
    {
      souplab::RunLog log(path.toStdString());
      for (int r = 0; r < 3; ++r) {
        souplab::RunInfo info;
        info.name = "run" + std::to_string(r);
        info.kind = r == 2 ? "dense" : "soup";
        const int64_t id = log.create_run(info);
        ids.push_back(id);
        for (int step = 10; step <= 50; step += 10) {
          std::vector<souplab::Metric> rows;
          for (const char* d : {"a", "b"})
            rows.push_back({step, "val", d, "loss_uniform", 3.0 - step / 100.0 + r, 0});
          rows.push_back({step, "train", "", "loss", 3.0, 0});
          log.log_metrics(id, rows);
        }
        log.set_checkpoint(id, QDir(tmp.path()).filePath("run.ckpt").toStdString(), 50);
        log.set_run_status(id, "finished");
      }
    }
    RunBrowser browser;
    browser.setRunLogPath(path);
    browser.refresh();
    QCOMPARE(browser.runCount(), 3);
    auto* model = qobject_cast<QStandardItemModel*>(browser.table()->model());
    QVERIFY(model);
    QStringList names;
    for (int row = 0; row < model->rowCount(); ++row)
      names << model->item(row, RunBrowser::ColName)->text();
    QVERIFY(names.contains("run0") && names.contains("run2"));
    // Best val loss of run0: mean over a, b at step 50 = 3.0 - 0.5 = 2.5.
    for (int row = 0; row < model->rowCount(); ++row)
      if (model->item(row, RunBrowser::ColName)->text() == "run0")
        QCOMPARE(model->item(row, RunBrowser::ColBestVal)->text(), QStringLiteral("2.5000"));

    browser.selectRuns({ids[0], ids[1]});
    QCOMPARE(browser.table()->selectionModel()->selectedRows().size(), 2);
    QCOMPARE(browser.overlayPlot()->graphCount(), 2);
    for (const QString& key : browser.overlayPlot()->seriesKeys())
      QCOMPARE(browser.overlayPlot()->pointCount(key), 5);  // one mean per logged step

    browser.selectRuns({ids[2]});
    QCOMPARE(browser.overlayPlot()->graphCount(), 1);

    // A run logged later shows up on refresh, and the selection survives.
    {
      souplab::RunLog log(path.toStdString());
      souplab::RunInfo info;
      info.name = "late";
      info.kind = "soup";
      log.create_run(info);
    }
    browser.refresh();
    QCOMPARE(browser.runCount(), 4);
    QCOMPARE(browser.overlayPlot()->graphCount(), 1);

    // CSV of the overlay: header + one row per point.
    const QString csv = QDir(tmp.path()).filePath("overlay.csv");
    QVERIFY(browser.overlayPlot()->exportCsv(csv));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    QCOMPARE(lines.first(), QByteArray("step,series,value"));
    QCOMPARE(lines.size() - 2, 5);  // minus header and the empty piece after the last newline
  }

  void missingLogSaysSo() {
    QTemporaryDir tmp;
    RunBrowser browser;
    browser.setRunLogPath(QDir(tmp.path()).filePath("absent.sqlite"));
    browser.refresh();
    QCOMPARE(browser.runCount(), 0);
    QVERIFY(!QFileInfo::exists(QDir(tmp.path()).filePath("absent.sqlite")));
  }
};

QTEST_MAIN(TestRunBrowser)
#include "test_run_browser.moc"
