// Fine-tuning the specialist on the sliders from the GUI, on a REAL tiny bank trained here: the
// dialog refuses to start without a target, runs the worker off the GUI thread (the event loop
// keeps turning: progress arrives as signals), reports the held-out target loss before and after,
// exports a folder that loads back as a model, logs a "finetune" run; Stop ends training early
// and still exports; a bad target is an error naming it, shown in the dialog.
#include <QtTest>

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>

#include "app/glue/finetune_worker.h"
#include "souplab/model.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "ui/explorer/finetune_dialog.h"
#include "ui_test_bank.h"
#include "ui_test_corpus.h"

using souplab::gui::FinetuneDialog;
using souplab::gui::FinetuneWorker;

class TestFinetuneDialog : public QObject {
  Q_OBJECT

  QTemporaryDir m_tmp;
  std::shared_ptr<const souplab::Model> m_bank;
  QString m_target, m_log;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    QStandardPaths::setTestModeEnabled(true);
    souplab::test::isolateIn(m_tmp);
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    QVERIFY(!corpus.isEmpty());
    m_log = m_tmp.filePath("runs.sqlite");
    const QString checkpoint = souplab::test::trainTinyTestBank(corpus, 4, 2, "finetune-test", m_log.toStdString());
    m_bank = souplab::Model::load(checkpoint.toStdString(), "cpu");
    // The target: text of a kind the bank never saw, long enough for training and held-out windows.
    m_target = m_tmp.filePath("target.txt");
    QFile f(m_target);
    QVERIFY(f.open(QIODevice::WriteOnly));
    for (int i = 0; i < 400; ++i) f.write(QByteArray::number(i * 7919 % 1000) + ", 42.5; ");
  }

  void needsATarget() {
    FinetuneDialog dialog(m_bank, {0.2, 0.5, 0.3});
    dialog.startButton()->click();
    QVERIFY(!dialog.isRunning());
    QVERIFY(dialog.resultLabel()->text().contains("target"));
  }

  void finetunesExportsAndLogs() {
    FinetuneDialog dialog(m_bank, {0.2, 0.5, 0.3});
    dialog.setRunLogPath(m_log);
    QSignalSpy done(&dialog, &FinetuneDialog::finetuned);
    QSignalSpy failed(&dialog, &FinetuneDialog::finetuneFailed);
    QSignalSpy progress(dialog.worker(), &FinetuneWorker::progress);
    const QString out = m_tmp.filePath("tuned");
    dialog.targetEdit()->setText(m_target);
    dialog.folderEdit()->setText(out);
    dialog.stepsSpin()->setValue(30);
    dialog.startButton()->click();
    QVERIFY(dialog.isRunning());
    QVERIFY(!dialog.startButton()->isEnabled());
    dialog.reject();  // ignored while training
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty() || !failed.isEmpty(), 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    QCOMPARE(done.at(0).at(0).toString(), out);
    QCOMPARE(progress.last().at(1).toInt(), 30);
    const QString text = dialog.resultLabel()->text();
    QVERIFY2(text.contains("before") && text.contains("after") && text.contains(out), qPrintable(text));
    QVERIFY(dialog.startButton()->isEnabled());
    auto tuned = souplab::Model::load((out + "/model.safetensors").toStdString(), "cpu");
    QCOMPARE(int(tuned->kind()), int(souplab::ModelKind::kSpecialist));
    souplab::RunLog log(m_log.toStdString());
    int finetunes = 0;
    for (const auto& r : log.list_runs()) finetunes += r.kind == "finetune";
    QCOMPARE(finetunes, 1);
  }

  void stopEndsEarlyAndStillExports() {
    FinetuneDialog dialog(m_bank, {1.0, 0.0, 0.0});
    dialog.setRunLogPath(m_log);
    QSignalSpy done(&dialog, &FinetuneDialog::finetuned);
    QSignalSpy progress(dialog.worker(), &FinetuneWorker::progress);
    dialog.targetEdit()->setText(m_target);
    dialog.folderEdit()->setText(m_tmp.filePath("stopped"));
    dialog.stepsSpin()->setValue(100000);
    dialog.startButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), 60000);
    dialog.stopButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 60000);
    QVERIFY2(dialog.resultLabel()->text().contains("Stopped"), qPrintable(dialog.resultLabel()->text()));
    QVERIFY(QFile::exists(m_tmp.filePath("stopped/model.safetensors")));
  }

  void badTargetIsShown() {
    FinetuneDialog dialog(m_bank, {0.2, 0.5, 0.3});
    dialog.setRunLogPath(m_log);
    QSignalSpy failed(&dialog, &FinetuneDialog::finetuneFailed);
    const QString missing = m_tmp.filePath("missing.txt");
    dialog.targetEdit()->setText(missing);
    dialog.folderEdit()->setText(m_tmp.filePath("never"));
    dialog.startButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 60000);
    QVERIFY2(failed.at(0).at(1).toString().contains(missing), qPrintable(failed.at(0).at(1).toString()));
    QVERIFY(dialog.resultLabel()->text().contains("Not fine-tuned"));
    QVERIFY(!QFile::exists(m_tmp.filePath("never")));
  }
};

QTEST_MAIN(TestFinetuneDialog)
#include "test_finetune_dialog.moc"
