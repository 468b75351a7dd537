// Exporting the specialist on the sliders from the GUI, on a REAL tiny bank trained here: the
// export worker writes the four files at a non-uniform h, the folder loads back as a model with
// exactly the bank's logits at that h, the run log records it; a second export to the same
// folder without overwrite fails naming the folder and leaves it as it was; the dialog drives
// the same worker.
#include <QtTest>

#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDirIterator>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <nlohmann/json.hpp>

#include "app/glue/export_worker.h"
#include "souplab/config.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/trainer.h"
#include "ui/explorer/export_dialog.h"
#include "ui_test_corpus.h"
#include "ui_test_bank.h"

using souplab::gui::ExportDialog;
using souplab::gui::ExportRequest;
using souplab::gui::ExportWorker;

namespace {

// name -> (size, sha1) of every file under dir: "left as it was" means this is unchanged.
QMap<QString, QPair<qint64, QByteArray>> snapshot(const QString& dir) {
  QMap<QString, QPair<qint64, QByteArray>> out;
  QDirIterator it(dir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
  while (it.hasNext()) {
    const QString path = it.next();
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) continue;
    out[QDir(dir).relativeFilePath(path)] = {f.size(), QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha1)};
  }
  return out;
}

QStringList sortedFiles(const QString& dir) {
  QStringList files = QDir(dir).entryList(QDir::Files);
  files.sort();
  return files;
}

}  // namespace

class TestExportDialog : public QObject {
  Q_OBJECT

  QTemporaryDir m_tmp;
  QString m_checkpoint;
  std::shared_ptr<const souplab::Model> m_bank;
  const std::vector<double> m_h{0.6, 0.3, 0.1};  // non-uniform on purpose
  QString m_exported;                             // folder written by workerExport

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    QStandardPaths::setTestModeEnabled(true);  // QSettings away from the user's
    QSettings().remove("export");  // test-mode settings outlive a run: start from first use
    souplab::test::isolateIn(m_tmp);
    const QString corpus = souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus"));
    QVERIFY(!corpus.isEmpty());

    // The default run log (under SOUPLAB_DATA_DIR): the one the export records itself in.
    m_checkpoint = souplab::test::trainTinyTestBank(corpus, 4, 2, "export-test",
                                                    souplab::default_run_log_path());
    QVERIFY2(QFile::exists(m_checkpoint), qPrintable(m_checkpoint));
    m_bank = souplab::Model::load(m_checkpoint.toStdString(), "cpu");
    QCOMPARE(m_bank->facts().domains.size(), size_t(3));
  }

  void suggestedName() {
    QCOMPARE(ExportDialog::suggestedFolderName("demo run", {"code", "licenses", "prose"}, {0.7, 0.3, 0.0}),
             QStringLiteral("demo_run-code70-licenses30"));
    QCOMPARE(ExportDialog::suggestedFolderName("", {"a/b", "c"}, {0.02, 0.98}),
             QStringLiteral("specialist-c98"));
  }

  void workerExportsAtNonUniformH() {
    m_exported = m_tmp.filePath("exports/spec-a");
    ExportWorker worker;
    QSignalSpy finished(&worker, &ExportWorker::finished);
    QSignalSpy failed(&worker, &ExportWorker::exportFailed);
    QSignalSpy progress(&worker, &ExportWorker::progress);
    ExportRequest request;
    request.model = m_bank;  // the explorer's bank, reused
    request.h = m_h;
    request.outDir = m_exported;
    QVERIFY(worker.start(request));
    QVERIFY(!worker.start(request));  // one at a time
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    QVERIFY(!worker.isRunning());
    QCOMPARE(finished.at(0).at(0).toString(), m_exported);
    QCOMPARE(sortedFiles(m_exported),
             (QStringList{"README.md", "config.json", "generation_config.json", "model-f16.gguf", "model.onnx",
                          "model.safetensors", "tokenizer.json", "tokenizer_config.json"}));
    const auto losses = finished.at(0).at(3).value<std::vector<double>>();
    QCOMPARE(losses.size(), size_t(3));
    QVERIFY(finished.at(0).at(4).toStringList().isEmpty());  // no notes: losses and log both done
    // instantiate, evaluate, 8 files, log: 11 stages, the last one 11/11.
    QCOMPARE(souplab::export_file_count(souplab::ExportFormat::kAll), 8);
    QCOMPARE(progress.size(), 11);
    QCOMPARE(progress.last().at(1).toInt(), 11);
    QCOMPARE(progress.last().at(2).toInt(), 11);

    // The folder is the specialist: exactly the bank's logits at h.
    auto reloaded = souplab::Model::load(m_exported.toStdString(), "cpu");
    QCOMPARE(int(reloaded->kind()), int(souplab::ModelKind::kSpecialist));
    std::vector<int64_t> tokens;
    for (int i = 0; i < 2 * 32; ++i) tokens.push_back((i * 37 + 11) % 256);
    const auto expected = m_bank->instantiate(m_bank->weights(m_h))->logits(tokens, 2, 32);
    // A specialist ignores h (it is one dense model) but validates it against the domains it
    // records.
    const auto actual = reloaded
                            ->instantiate(reloaded->facts().domains.empty() ? souplab::DomainWeights()
                                                                            : reloaded->weights(m_h))
                            ->logits(tokens, 2, 32);
    QCOMPARE(actual.size(), expected.size());
    QVERIFY(actual == expected);  // bit for bit
    // And not the uniform specialist's (h really mattered).
    QVERIFY(m_bank->instantiate(m_bank->weights({1.0 / 3, 1.0 / 3, 1.0 / 3}))->logits(tokens, 2, 32) != actual);

    // The run log has the export, with its path and h.
    souplab::RunLog log(souplab::default_run_log_path());
    const auto exports = log.exports(m_bank->facts().run_id);
    QCOMPARE(exports.size(), size_t(1));
    QCOMPARE(QString::fromStdString(exports[0].path), m_exported);
    QCOMPARE(QString::fromStdString(exports[0].format), QStringLiteral("all"));
    QCOMPARE(exports[0].step, m_bank->facts().step);
    const auto logged = nlohmann::json::parse(exports[0].domain_weights_json).get<std::vector<double>>();
    QCOMPARE(logged.size(), m_h.size());
    for (size_t i = 0; i < m_h.size(); ++i) QVERIFY(qAbs(logged[i] - m_h[i]) < 1e-12);
    const auto loggedLosses = nlohmann::json::parse(exports[0].losses_json);
    QCOMPARE(loggedLosses.size(), size_t(3));
    QCOMPARE(loggedLosses["prose"].get<double>(), losses[2]);
  }

  void secondExportWithoutOverwriteFails() {
    QVERIFY(!m_exported.isEmpty());
    const auto before = snapshot(m_exported);
    QCOMPARE(before.size(), 8);
    ExportWorker worker;
    QSignalSpy finished(&worker, &ExportWorker::finished);
    QSignalSpy failed(&worker, &ExportWorker::exportFailed);
    ExportRequest request;
    request.model = m_bank;
    request.h = {0.1, 0.1, 0.8};
    request.outDir = m_exported;
    request.format = souplab::ExportFormat::kSafetensors;
    QVERIFY(worker.start(request));
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 300000);
    QVERIFY(finished.isEmpty());
    QCOMPARE(failed.at(0).at(0).toString(), m_exported);
    const QString message = failed.at(0).at(1).toString();
    QVERIFY2(message.contains(m_exported) && message.contains("exists"), qPrintable(message));
    QVERIFY(snapshot(m_exported) == before);
    QCOMPARE(QDir(m_exported + "/..").entryList(QDir::Dirs | QDir::NoDotAndDotDot),
             QStringList{"spec-a"});  // no temporary folder left beside it
    // Still one export in the log.
    QCOMPARE(souplab::RunLog(souplab::default_run_log_path()).exports(m_bank->facts().run_id).size(),
             size_t(1));
  }

  void dialogDrivesTheExport() {
    ExportDialog dialog(m_bank, m_h);
    dialog.resize(600, dialog.sizeHint().height());
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    // Weights shown largest first, with their values.
    QTableWidget* table = dialog.weightsTable();
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("code"));  // domains sort: code, numbers, prose
    QCOMPARE(table->item(0, 1)->text(), QStringLiteral("0.600"));
    QCOMPARE(table->item(2, 0)->text(), QStringLiteral("prose"));
    // The suggested folder: "<run name>-<top domains>", under the data dir on first use.
    QVERIFY2(dialog.folderEdit()->text().endsWith("export-test-code60-numbers30-prose10"),
             qPrintable(dialog.folderEdit()->text()));
    QVERIFY(dialog.lossesCheck()->isChecked());
    QVERIFY(!dialog.overwriteCheck()->isChecked());
    saveShot(dialog, "export_dialog.png");

    const QString dir = m_tmp.filePath("exports/from-dialog");
    dialog.folderEdit()->setText(dir);
    // GGUF for llama.cpp, quantised (the tiny bank's width, 32, is one q8_0 block).
    QVERIFY(dialog.formatCombo()->findData("gguf-f16") >= 0 && dialog.formatCombo()->findData("gguf-f32") >= 0);
    dialog.formatCombo()->setCurrentIndex(dialog.formatCombo()->findData("gguf-q8_0"));
    dialog.lossesCheck()->setChecked(false);
    QSignalSpy exported(&dialog, &ExportDialog::exported);
    QSignalSpy failed(&dialog, &ExportDialog::exportFailed);
    QTest::mouseClick(dialog.exportButton(), Qt::LeftButton);
    QVERIFY(dialog.isExporting());
    QVERIFY(!dialog.exportButton()->isEnabled());
    dialog.reject();  // ignored while the thread writes
    QVERIFY(dialog.isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(!exported.isEmpty() || !failed.isEmpty(), 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    QCOMPARE(exported.at(0).at(0).toString(), dir);
    QCOMPARE(sortedFiles(dir), (QStringList{"README.md", "config.json", "generation_config.json", "model-q8_0.gguf",
                                            "tokenizer.json", "tokenizer_config.json"}));
    QVERIFY(dialog.openFolderButton()->isVisible());
    auto* result = dialog.findChild<QLabel*>("resultLabel");
    QVERIFY(result->isVisible() && result->text().contains(QDir::toNativeSeparators(dir)));
    QVERIFY(dialog.exportButton()->isEnabled());
    QCOMPARE(QSettings().value("export/lastDir").toString(), m_tmp.filePath("exports"));
    saveShot(dialog, "export_dialog_done.png");

    // Again to the same folder: a message box naming it, the folder untouched.
    const auto before = snapshot(dir);
    QTest::mouseClick(dialog.exportButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 300000);
    auto* box = dialog.findChild<QMessageBox*>("exportErrorBox");
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    QVERIFY2(box->text().contains(QDir::toNativeSeparators(dir)), qPrintable(box->text()));
    QVERIFY2(box->text().contains("already exists"), qPrintable(box->text()));
    QVERIFY(snapshot(dir) == before);
    saveShot(*box, "export_dialog_error.png");
    box->accept();

    // With "replace" it goes through, now with validation losses in the table.
    dialog.overwriteCheck()->setChecked(true);
    dialog.lossesCheck()->setChecked(true);
    QTest::mouseClick(dialog.exportButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(exported.size() == 2 || failed.size() == 2, 300000);
    QCOMPARE(exported.size(), 2);
    QVERIFY(!table->item(0, 2)->text().isEmpty());
    saveShot(dialog, "export_dialog_replaced.png");
    QCOMPARE(souplab::RunLog(souplab::default_run_log_path()).exports(m_bank->facts().run_id).size(),
             size_t(3));
  }

 private:
  // Screenshots for review when SOUPLAB_SHOTS_DIR is set.
  static void saveShot(QWidget& w, const QString& name) {
    const QString dir = qEnvironmentVariable("SOUPLAB_SHOTS_DIR");
    if (dir.isEmpty()) return;
    QDir().mkpath(dir);
    QCoreApplication::processEvents();
    w.grab().save(QDir(dir).filePath(name));
  }
};

QTEST_MAIN(TestExportDialog)
#include "test_export_dialog.moc"
