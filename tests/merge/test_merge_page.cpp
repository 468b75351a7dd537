// The merge page offscreen on a REAL tiny soup trained here: two of its specialists (exported
// folders) merged on the bank at uniform h as base. Moving a weight slider re-merges on the
// worker thread and the bars update; a burst of moves while the worker is busy costs one merge
// (latest wins); the GUI thread never blocks on a merge; Export… writes a folder Model::load reads
// back with the merged parameters.
#include <QElapsedTimer>
#include <QSemaphore>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <functional>

#include "souplab/merge.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "ui/explorer/loss_chart.h"
#include "ui/merge/merge_page.h"
#include "ui/qcustomplot_include.h"
#include "ui/ui_test_bank.h"
#include "ui/ui_test_corpus.h"

using namespace souplab::gui;

class TestMergePage : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_checkpoint, m_a, m_b;
  std::string m_log;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    qputenv("SOUPLAB_DATA_DIR", QFile::encodeName(m_tmp.filePath("data")));
    qputenv("SOUPLAB_CACHE_DIR", QFile::encodeName(m_tmp.filePath("cache")));
    const QString corpus = m_tmp.filePath("corpus");
    souplab::test::writeUiTestCorpus(corpus);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
    m_checkpoint = souplab::test::trainTinyTestBank(corpus, 6, 4, "merge-page-test", m_log);
    QVERIFY(QFile::exists(m_checkpoint));
    auto bank = souplab::Model::load(m_checkpoint.toStdString(), "cpu");
    souplab::ModelExportOptions o;
    o.format = souplab::ExportFormat::kSafetensors;
    o.with_losses = false;
    o.run_log_path = m_log;
    m_a = m_tmp.filePath("spec-a");
    m_b = m_tmp.filePath("spec-b");
    bank->export_specialist(bank->weights({1, 0, 0}), m_a.toStdString(), o);
    bank->export_specialist(bank->weights({0, 0, 1}), m_b.toStdString(), o);
  }

  void slidersReMergeOffTheGuiThread() {
    MergePage page;
    page.resize(1000, 700);
    page.show();
    QSignalSpy ready(&page, &MergePage::inputsReady);
    QSignalSpy shown(&page, &MergePage::mergeShown);
    QSignalSpy errors(&page, &MergePage::errorOccurred);
    page.setMethod(souplab::MergeMethod::kTies);
    page.setInputs({m_a, m_b}, m_checkpoint);
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 60000);
    QVERIFY2(errors.isEmpty(), errors.isEmpty() ? "" : qPrintable(errors.at(0).at(0).toString()));
    QCOMPARE(ready.at(0).at(0).toStringList().size(), 3);  // the soup's corpus gives the windows
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 60000);
    QCOMPARE(page.mergedLosses().size(), size_t(3));
    QTRY_COMPARE_WITH_TIMEOUT(page.inputLosses(1).size(), size_t(3), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(page.chart()->referenceBars()->data()->size(), 3, 30000);
    QVERIFY(page.description().startsWith("ties"));

    // One slider move: a new merge with different losses, and the GUI thread stays free
    // (setValue returns at once; the merge runs on the worker).
    const auto before = page.mergedLosses();
    shown.clear();
    QElapsedTimer t;
    t.start();
    page.weightSlider(0)->setValue(10);  // weight 0.1: mostly the second specialist
    const qint64 blockedMs = t.elapsed();
    qInfo("slider move returned after %lld ms", static_cast<long long>(blockedMs));
    QVERIFY(blockedMs < 50);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 60000);
    QCOMPARE(page.currentSettings().weights[0], 0.1);
    QVERIFY(page.mergedLosses() != before);
    QCOMPARE(page.chart()->specialistBars()->data()->size(), 3);
    // What the bars show is exactly the engine's merge of those settings.
    const auto a = souplab::load_merge_model(m_a.toStdString());
    const auto b = souplab::load_merge_model(m_b.toStdString());
    const auto base = souplab::load_merge_model(m_checkpoint.toStdString());
    const auto s = page.currentSettings();
    const auto merged = souplab::merge_models({&a, &b}, s.weights, &base, s.params);
    auto val = souplab::merge_validation_set({&base}, 4);
    const auto want = merged->instantiate({})->evaluate(*val);
    QCOMPARE(page.mergedLosses().size(), want.size());
    for (size_t d = 0; d < want.size(); ++d) QVERIFY(std::fabs(page.mergedLosses()[d] - want[d]) < 1e-5);

    // A burst of moves while the worker is busy costs one merge, of the last settings.
    MergeWorker* worker = page.worker();
    QSemaphore busy, release;
    QMetaObject::invokeMethod(worker, [&] { busy.release(); release.acquire(); }, Qt::QueuedConnection);
    QVERIFY(busy.tryAcquire(1, 30000));
    const quint64 merges = worker->mergeCount();
    shown.clear();
    for (int i = 0; i < 30; ++i) page.weightSlider(i % 2)->setValue(20 + 5 * i);
    const auto last = page.currentSettings().weights;
    release.release();
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, 60000);
    QTest::qWait(300);
    QCOMPARE(worker->mergeCount() - merges, quint64(1));
    QCOMPARE(shown.count(), 1);

    // Export writes the shown merge; Model::load reads the same parameters back.
    QSignalSpy exported(&page, &MergePage::exportFinished);
    const QString out = m_tmp.filePath("merged-out");
    page.exportTo(out, souplab::ExportFormat::kSafetensors, false, QString::fromStdString(m_log));
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 60000);
    const auto expect = souplab::merge_models({&a, &b}, last, &base, s.params);
    QCOMPARE(souplab::Model::load(out.toStdString(), "cpu")->instantiate_dense({})->parameters(), expect->theta());
    QSignalSpy failed(&page, &MergePage::exportFailed);
    page.exportTo(out, souplab::ExportFormat::kSafetensors, false, QString::fromStdString(m_log));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
    QVERIFY(failed.at(0).at(1).toString().contains("merged-out"));
  }

  void missingBaseIsSaidNotMerged() {
    MergePage page;
    QSignalSpy ready(&page, &MergePage::inputsReady);
    QSignalSpy shown(&page, &MergePage::mergeShown);
    page.setMethod(souplab::MergeMethod::kTaskArithmetic);
    page.setInputs({m_a, m_b});
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 60000);
    QTest::qWait(200);
    QCOMPARE(shown.count(), 0);  // no base: nothing merged, the status line says why
    page.setMethod(souplab::MergeMethod::kLinear);
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 60000);
    // Exports carry no corpus, so there are no losses; the merge itself still happens.
    QVERIFY(page.mergedLosses().empty());
  }
};

QTEST_MAIN(TestMergePage)
#include "test_merge_page.moc"
