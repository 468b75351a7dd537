// The Compare page (issue 9): experts built through the dialog's worker land in the model list,
// and an evaluation fills the table and the grouped bar chart with the engine's own numbers.
#include <QComboBox>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "app/glue/posthoc_workers.h"
#include "souplab/domain_weights.h"
#include "souplab/paths.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "ui/compare/compare_view.h"
#include "ui/compare/posthoc_dialog.h"
#include "ui/qcustomplot_include.h"
#include "ui_test_bank.h"
#include "ui_test_corpus.h"

using namespace souplab::gui;

class TestCompareView : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_checkpoint;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    QStandardPaths::setTestModeEnabled(true);
    souplab::test::isolateIn(m_tmp);
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    QVERIFY(!corpus.isEmpty());
    m_checkpoint = souplab::test::trainTinyTestBank(corpus, 4, 2, "compare-test",
                                                    souplab::default_run_log_path());
    QVERIFY(QFile::exists(m_checkpoint));
  }

  void buildExpertsThenCompare() {
    CompareView view;
    PosthocDialog dialog(&view);
    QSignalSpy built(&dialog, &PosthocDialog::built);
    dialog.methodBox()->setCurrentIndex(dialog.methodBox()->findData(QStringLiteral("lora")));
    dialog.baseEdit()->setText(m_checkpoint);
    dialog.stepsBox()->setValue(3);
    const QString out = m_tmp.filePath("lora");
    dialog.outEdit()->setText(out);
    QVERIFY(dialog.startBuild());
    QVERIFY(dialog.worker()->isRunning());
    QVERIFY(built.wait(120000));
    QCOMPARE(built.at(0).at(0).toString(), QFileInfo(out).absoluteFilePath());
    QVERIFY(QFile::exists(out + "/manifest.json"));

    view.addModel(m_checkpoint + "@onehot:code");
    view.addModel(m_checkpoint);
    view.addModel(out);
    view.setTargets(QStringLiteral("prose=0.5,code=0.5"));
    QSignalSpy done(&view, &CompareView::evaluated);
    QVERIFY(view.evaluate());
    QVERIFY(!view.evaluate());  // one evaluation at a time
    QVERIFY(done.wait(120000));
    auto* table = view.findChild<QTableWidget*>(QStringLiteral("compareTable"));
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->columnCount(), 1 + 3 + 1);
    auto* plot = view.findChild<QCustomPlot*>(QStringLiteral("compareChart"));
    QCOMPARE(plot->plottableCount(), 3);

    // The soup at a fixed h: its target column is the h-weighted mean of the engine's losses.
    const auto& r = view.result();
    auto bank = souplab::Model::load(m_checkpoint.toStdString(), "cpu");
    auto val = souplab::ValidationSet::for_model(bank->facts(), 16);
    const auto h = bank->parse_weights("onehot:code");
    const auto l = bank->instantiate(h)->evaluate(*val);
    size_t prose = 0, code = 0;
    for (size_t d = 0; d < r.domains.size(); ++d) {
      if (r.domains[d] == "prose") prose = d;
      if (r.domains[d] == "code") code = d;
    }
    QVERIFY(std::abs(r.rows[0].target_loss[0] - 0.5 * (l[prose] + l[code])) < 1e-6);
    QCOMPARE(table->item(0, 1 + int(code))->text(), QString::number(l[code], 'f', 4));
    for (const auto& row : r.rows)
      for (double v : row.domain_loss) QVERIFY(std::isfinite(v));
  }
};

QTEST_MAIN(TestCompareView)
#include "test_compare_view.moc"
