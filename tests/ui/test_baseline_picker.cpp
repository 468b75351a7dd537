// The explorer's reference picker (issue: honest baselines): the dense runs of the run log over
// the bank's domains are offered, an equal-budget one first, and it becomes the reference at
// once (the grey bars and the summary line compare with it); "soup at uniform h" brings the
// bank's own reference back. Dense runs over other domains or without a checkpoint are not
// offered; a dense run of another length is offered but not called equal budget. And the
// warning about a training in another process (the run log's running runs with a live owner).
#include <QComboBox>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "app/glue/baseline_runs.h"
#include "app/glue/other_trainings.h"
#include "souplab/run_log.h"
#include "souplab/paths.h"
#include "tests/ui/ui_test_bank.h"
#include "tests/ui/ui_test_corpus.h"
#include "ui/explorer/loss_chart.h"
#include "souplab/device.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/qcustomplot_include.h"

using namespace souplab;
using namespace souplab::gui;

class TestBaselinePicker : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_soup, m_dense;

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    souplab::test::isolateIn(m_tmp);
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    const QString other = souplab::test::writeUiTestCorpus(m_tmp.filePath("other"));
    QDir(other).rename("numbers", "tables");  // other domains: never offered
    const std::string log = default_run_log_path();
    m_soup = souplab::test::trainTinyTestBank(corpus, 6, 4, "the soup", log);
    m_dense = souplab::test::trainTinyTestBank(corpus, 6, 4, "dense same budget", log, ModelKind::kDense);
    souplab::test::trainTinyTestBank(corpus, 3, 4, "dense shorter", log, ModelKind::kDense);
    souplab::test::trainTinyTestBank(other, 6, 4, "dense other domains", log, ModelKind::kDense);
  }

  void candidatesFromTheRunLog() {
    const auto bank = Model::load(m_soup.toStdString(), "cpu");
    const auto found = dense_baselines(QString::fromStdString(default_run_log_path()), bank->facts());
    QCOMPARE(found.size(), 2);
    QCOMPARE(found[0].name, QStringLiteral("dense same budget"));
    QVERIFY(found[0].equalBudget);
    QCOMPARE(found[0].checkpoint, m_dense);
    QCOMPARE(found[1].name, QStringLiteral("dense shorter"));
    QVERIFY(!found[1].equalBudget);
    // The config "Train a dense baseline like this bank" starts: same budget, no experts.
    const RunConfig c = dense_baseline_config(bank->facts());
    QCOMPARE(int(c.train.kind), int(ModelKind::kDense));
    QCOMPARE(c.bank.n_experts, 0);
    QCOMPARE(c.train.steps, bank->facts().config.train.steps);
    QCOMPARE(c.model.n_embd, bank->facts().config.model.n_embd);
  }

  void anotherProcessTrainingIsNamed() {
    const QString path = QDir(m_tmp.path()).filePath("busy.sqlite");
    RunLog log(path.toStdString());
    RunInfo info;
    info.name = "busy run";
    info.kind = "soup";
    const int64_t id = log.create_run(info);
    log.set_run_status(id, "running");  // owned by this (live) process
    const qint64 self = QCoreApplication::applicationPid();
    QVERIFY(other_trainings_warning(path, self).isEmpty());  // our own training is not "another"
    QVERIFY(other_trainings_warning(path, 1).contains(QStringLiteral("'busy run'")));  // seen from another process
    log.set_run_status(id, "finished");
    QVERIFY(other_trainings_warning(path, 1).isEmpty());
  }

  void equalBudgetDenseBecomesTheReference() {
    SpecialistExplorer explorer;
    explorer.resize(1200, 800);
    explorer.show();
    QSignalSpy loaded(&explorer, &SpecialistExplorer::bankLoaded);
    explorer.setBank(m_soup);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 60000);
    auto* combo = explorer.findChild<QComboBox*>(QStringLiteral("referenceCombo"));
    QVERIFY(combo);
    QCOMPARE(combo->count(), 1 + 2 + 2);  // soup, two dense runs, another model, train one
    QCOMPARE(combo->currentIndex(), 1);
    QCPBars* reference = explorer.lossChart()->referenceBars();
    QTRY_VERIFY_WITH_TIMEOUT(reference->name().contains(QStringLiteral("dense same budget")), 60000);
    QTRY_VERIFY_WITH_TIMEOUT(explorer.mixtureChange() != 0, 60000);

    Q_EMIT combo->activated(0);  // back to the soup at uniform h
    QTRY_COMPARE_WITH_TIMEOUT(reference->name(), QStringLiteral("soup at uniform h"), 60000);
  }

  // The explorer's device picker lists every device found ("auto" first); a choice reloads the
  // bank there (the facts line names the device).
  void deviceChoiceReloadsTheBank() {
    SpecialistExplorer explorer;
    QSignalSpy loaded(&explorer, &SpecialistExplorer::bankLoaded);
    explorer.setBank(m_soup);
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 60000);
    auto* device = explorer.findChild<QComboBox*>(QStringLiteral("explorerDevice"));
    QVERIFY(device);
    QCOMPARE(device->count(), 1 + int(souplab::available_devices().size()));
    QCOMPARE(device->itemData(0).toString(), QStringLiteral("auto"));
    QCOMPARE(device->itemData(1).toString(), QStringLiteral("cpu"));
    device->setCurrentIndex(1);
    Q_EMIT device->activated(1);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, 60000);
    QVERIFY2(loaded.last().at(0).toString().contains(QStringLiteral("cpu")), qPrintable(loaded.last().at(0).toString()));

    // The precision picker: bf16 reloads the bank with bf16 specialists (the facts line says so)
    // and their bars come back; fp32 again drops it.
    auto* precision = explorer.findChild<QComboBox*>(QStringLiteral("explorerPrecision"));
    QVERIFY(precision);
    QCOMPARE(precision->itemData(0).toString(), QStringLiteral("fp32"));
    const int bf16 = precision->findData(QStringLiteral("bf16"));
    QVERIFY(bf16 > 0);
    precision->setCurrentIndex(bf16);
    Q_EMIT precision->activated(bf16);
    const auto allEvaluated = [&] {
      const auto& now = explorer.displayedLosses();
      return !now.empty() && std::all_of(now.begin(), now.end(), [](double l) { return std::isfinite(l); });
    };
    QTRY_VERIFY_WITH_TIMEOUT(allEvaluated(), 60000);
    const std::vector<double> fp32Losses = explorer.displayedLosses();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 3, 60000);
    QVERIFY2(loaded.last().at(0).toString().endsWith(QStringLiteral("cpu bf16")), qPrintable(loaded.last().at(0).toString()));
    // Its bars: every domain evaluated again, close to float32's but not the same numbers.
    QTRY_VERIFY_WITH_TIMEOUT(allEvaluated() && explorer.displayedLosses() != fp32Losses, 60000);
    QCOMPARE(explorer.displayedLosses().size(), fp32Losses.size());
    for (size_t d = 0; d < fp32Losses.size(); ++d)
      QVERIFY2(std::abs(explorer.displayedLosses()[d] - fp32Losses[d]) <= 0.03 * fp32Losses[d],
               qPrintable(QString("domain %1: bf16 %2, fp32 %3").arg(d).arg(explorer.displayedLosses()[d]).arg(fp32Losses[d])));
    precision->setCurrentIndex(0);
    Q_EMIT precision->activated(0);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 4, 60000);
    QVERIFY(!loaded.last().at(0).toString().contains(QStringLiteral("bf16")));
  }
};

QTEST_MAIN(TestBaselinePicker)
#include "test_baseline_picker.moc"
