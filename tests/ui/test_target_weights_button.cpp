// The explorer's "Specialist for this text…" button on a REAL tiny bank: the histogram and the
// fit run off the GUI thread and move the sliders to their h; a missing file is an error naming it.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include "app/glue/weights_worker.h"
#include "souplab/config.h"
#include "souplab/trainer.h"
#include <QUndoStack>
#include <cmath>

#include "ui/explorer/domain_sliders.h"
#include "ui/explorer/loss_chart.h"
#include "ui/qcustomplot_include.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/explorer/target_weights_button.h"
#include "ui_test_corpus.h"
#include "ui_test_bank.h"

using namespace souplab::gui;

class TestTargetWeightsButton : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_checkpoint;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    souplab::test::isolateIn(m_tmp);
    QVERIFY(!souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus")).isEmpty());
    m_checkpoint = souplab::test::trainTinyTestBank(m_tmp.filePath("corpus"), 10, 4, "",
                                                    m_tmp.filePath("runs.sqlite").toStdString());
  }

  void estimatesMoveTheSliders() {
    SpecialistExplorer explorer;
    QSignalSpy loaded(&explorer, &SpecialistExplorer::bankLoaded);
    explorer.setBank(m_checkpoint);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    auto* button = explorer.findChild<TargetWeightsButton*>(QStringLiteral("targetWeightsButton"));
    QVERIFY(button);
    QTRY_VERIFY_WITH_TIMEOUT(button->isEnabled(), 10000);
    DomainSliders* sliders = explorer.domainSliders();
    QCOMPARE(sliders->domains(), (QStringList{"code", "numbers", "prose"}));

    // Numbers only: the histogram puts (nearly) all weight on "numbers".
    const QString target = m_tmp.filePath("target.txt");
    {
      QFile f(target);
      QVERIFY(f.open(QIODevice::WriteOnly));
      for (int i = 5000; i < 6500; ++i) f.write(QStringLiteral("%1\t%2\t%3\n").arg(i).arg(i * i % 1009).arg(i % 257).toUtf8());
    }
    QSignalSpy estimated(button, &TargetWeightsButton::estimated);
    QSignalSpy failed(button, &TargetWeightsButton::failed);
    bool workerOffGui = false;
    connect(button->worker(), &WeightsWorker::progress, this, [&] { workerOffGui = true; });
    button->estimate(target, QStringLiteral("histogram"));
    QVERIFY(button->isBusy());  // while the estimate runs on its own thread; a click cancels
    QVERIFY(button->text().contains(QStringLiteral("Cancel")));
    QTRY_COMPARE_WITH_TIMEOUT(estimated.count(), 1, 60000);
    QVERIFY(estimated.at(0).at(2).toBool());  // the histogram alone: final
    auto h = estimated.at(0).at(0).value<std::vector<double>>();
    QVERIFY2(h[1] > 0.9, qPrintable(QString::number(h[1])));
    for (size_t i = 0; i < 3; ++i) QVERIFY(std::abs(sliders->weights()[i] - h[i]) < 1e-3);
    QVERIFY(button->isEnabled() && !button->isBusy());
    QVERIFY(workerOffGui);

    // The fit through the bank: the histogram's h first (not final), then the fit's; the
    // sliders follow each, one undo step each.
    const int undoSteps = sliders->undoStack()->count();
    button->estimate(target, QStringLiteral("fit"));
    QTRY_COMPARE_WITH_TIMEOUT(estimated.count(), 3, 120000);
    QVERIFY(!estimated.at(1).at(2).toBool());
    QVERIFY(estimated.at(2).at(2).toBool());
    h = estimated.at(2).at(0).value<std::vector<double>>();
    for (size_t i = 0; i < 3; ++i) QVERIFY(std::abs(sliders->weights()[i] - h[i]) < 1e-3);
    QVERIFY(sliders->undoStack()->count() >= undoSteps + 1);
    QVERIFY(failed.isEmpty());
    // The text is a bar of the chart: the specialist at the fitted h and the reference on it.
    LossChart* chart = explorer.lossChart();
    QTRY_VERIFY_WITH_TIMEOUT(chart->targetLabel() == QStringLiteral("target.txt") &&
                                 std::isfinite(chart->targetSpecialist()) && std::isfinite(chart->targetReference()),
                             60000);
    QVERIFY(chart->targetSpecialist() > 0 && chart->targetReference() > 0);
    QCOMPARE(chart->specialistBars()->data()->at(0)->key, 0.0);
    QCOMPARE(chart->specialistBars()->data()->at(0)->value, chart->targetSpecialist());

    // Cancel (a click while busy; here before the histogram stage can end, so deterministic):
    // cancelled(), no error, no fit; the sliders hold the histogram's h; the button is free.
    QSignalSpy cancelled(button, &TargetWeightsButton::cancelled);
    button->estimate(target, QStringLiteral("fit"));
    QVERIFY(button->isBusy());
    button->click();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
    QVERIFY(!button->isBusy() && button->isEnabled());
    QTest::qWait(200);
    QCOMPARE(estimated.count(), 3);  // no fitted h after the cancel
    const auto kept = estimated.at(0).at(0).value<std::vector<double>>();  // the same text's histogram
    for (size_t i = 0; i < 3; ++i) QVERIFY(std::abs(sliders->weights()[i] - kept[i]) < 1e-3);
    QVERIFY(failed.isEmpty());

    // A missing file: an error naming it, the sliders stay.
    const auto before = sliders->weights();
    button->estimate(m_tmp.filePath("no-such.txt"), QStringLiteral("fit"));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
    QVERIFY(failed.at(0).at(0).toString().contains("no-such.txt"));
    QCOMPARE(sliders->weights(), before);
  }
};

QTEST_MAIN(TestTargetWeightsButton)
#include "test_target_weights_button.moc"
