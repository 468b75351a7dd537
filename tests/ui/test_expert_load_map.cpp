// The expert-load heat map of a MoE run, fed by a real tiny MoE run through the run log, and the
// run browser overlaying that run's validation curve beside a soup run's.
#include <QtTest>

#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <cmath>

#include "app/glue/expert_load_loader.h"
#include "souplab/trainer.h"
#include "ui/qcustomplot_include.h"
#include "ui/runs/expert_load_map.h"
#include "ui/runs/run_browser.h"
#include "ui/training/loss_plot.h"
#include "ui_test_bank.h"
#include "ui_test_corpus.h"

using namespace souplab;
using souplab::gui::ExpertLoadMap;
using souplab::gui::RunBrowser;

class TestExpertLoadMap : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_log;
  int64_t m_moeRun = 0;
  int64_t m_soupRun = 0;

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    qputenv("SOUPLAB_CACHE_DIR", m_tmp.filePath("cache").toUtf8());
    qputenv("SOUPLAB_DATA_DIR", m_tmp.filePath("data").toUtf8());
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    m_log = m_tmp.filePath("runs.sqlite");
    RunConfig c;
    c.model.n_layer = 2;
    c.model.n_embd = 32;
    c.model.n_head = 2;
    c.model.block_size = 32;
    c.moe.n_experts = 4;
    c.train.kind = souplab::ModelKind::kMoe;
    c.train.corpus_dir = corpus.toStdString();
    c.train.device = "cpu";
    c.train.steps = 12;
    c.train.batch_size = 4;
    c.train.warmup_steps = 1;
    c.train.log_interval = 4;
    c.train.eval_interval = 6;
    c.train.eval_windows = 2;
    c.train.checkpoint_interval = 12;
    c.train.run_name = "tiny moe";
    auto trainer = Trainer::start_new(c, m_log.toStdString());
    trainer->run({});
    m_moeRun = trainer->run_id();
    souplab::test::trainTinyTestBank(corpus, 6, 4, "tiny soup", m_log.toStdString());
    m_soupRun = m_moeRun + 1;
  }

  void readsTheLatestExpertLoad() {
    const ExpertLoadTable t = read_expert_load(m_log.toStdString(), m_moeRun);
    QCOMPARE(t.step, int64_t(12));
    QCOMPARE(int(t.domains.size()), 3);
    QCOMPARE(int(t.layers.size()), 2);
    QCOMPARE(t.n_experts, 4);
    for (size_t d = 0; d < t.domains.size(); ++d) {
      for (int l = 0; l < 2; ++l) {
        double sum = 0;
        for (int e = 0; e < 4; ++e) sum += t.load[d][size_t(l * 4 + e)];
        QVERIFY2(std::abs(sum - 1.0) < 1e-6, qPrintable(QString("domain %1 block %2: %3").arg(d).arg(l).arg(sum)));
      }
      QVERIFY(t.dropped[d] >= 0 && t.dropped[d] <= 1);
    }
    QVERIFY(t.train_dropped >= 0 && t.train_dropped <= 1);
    // A soup run has no expert-load rows.
    QCOMPARE(read_expert_load(m_log.toStdString(), m_soupRun).step, int64_t(-1));
  }

  void heatMapDrawsTheRunOffTheGuiThread() {
    ExpertLoadMap map;
    map.resize(600, 300);
    QSignalSpy spy(&map, &ExpertLoadMap::updated);
    map.showRun(m_log, m_moeRun);
    QVERIFY(spy.wait(10000));
    const ExpertLoadTable& t = map.table();
    QCOMPARE(map.colorMap()->data()->keySize(), 8);    // 2 blocks x 4 experts
    QCOMPARE(map.colorMap()->data()->valueSize(), 3);  // domains
    for (int d = 0; d < 3; ++d)
      for (int c = 0; c < 8; ++c)
        QCOMPARE(map.colorMap()->data()->cell(c, d), t.load[size_t(d)][size_t(c)]);
    QVERIFY(map.droppedLabel()->text().contains("Dropped"));
    QVERIFY(!map.plot()->toPixmap(600, 300).isNull());
  }

  void runBrowserShowsMoeBesideSoup() {
    RunBrowser browser;
    browser.setRunLogPath(m_log);
    browser.refresh();
    browser.show();
    QCOMPARE(browser.runCount(), 2);
    browser.selectRuns({m_moeRun, m_soupRun});
    QCOMPARE(browser.overlayPlot()->graphCount(), 2);  // MoE "loss" and soup "loss_uniform" curves
    for (const QString& key : browser.overlayPlot()->seriesKeys())
      QCOMPARE(browser.overlayPlot()->pointCount(key), key == QString::number(m_moeRun) ? 3 : 2);
    QVERIFY(!browser.expertLoadMap()->isVisible());
    QSignalSpy spy(browser.expertLoadMap(), &ExpertLoadMap::updated);
    browser.selectRuns({m_moeRun});
    QVERIFY(browser.expertLoadMap()->isVisible());
    QVERIFY(spy.wait(10000));
    QCOMPARE(browser.expertLoadMap()->table().run_id, m_moeRun);
  }
};

QTEST_MAIN(TestExpertLoadMap)
#include "test_expert_load_map.moc"
