#pragma once
// "Export specialist…": writes the specialist on the explorer's sliders as a folder other tools
// load (safetensors + config.json, ONNX, model card), the GUI twin of `souplab-cli export`.
// Shows the domain weights being exported, lets the user pick the folder, format and options,
// and runs the export on an ExportWorker thread; the dialog stays responsive and can not be
// closed half-way (the folder appears complete or not at all, but the thread must finish).
#include <QDialog>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace souplab {
class Model;
}

namespace souplab::gui {

class ExportWorker;

class ExportDialog : public QDialog {
  Q_OBJECT

 public:
  // bank: the explorer's bank (shared, immutable); h: the weights on its sliders.
  ExportDialog(std::shared_ptr<const souplab::Model> bank, const std::vector<double>& h,
               QWidget* parent = nullptr);
  ~ExportDialog() override;

  // "<run name>-<top domains>", e.g. "demo-code_c70-licenses30": only characters safe in a
  // folder name.
  static QString suggestedFolderName(const QString& runName, const QStringList& domains,
                                     const std::vector<double>& h);

  QLineEdit* folderEdit() const { return m_folder; }
  QComboBox* formatCombo() const { return m_format; }
  QCheckBox* overwriteCheck() const { return m_overwrite; }
  QCheckBox* lossesCheck() const { return m_losses; }
  QPushButton* exportButton() const { return m_exportButton; }
  QPushButton* openFolderButton() const { return m_openFolder; }
  QTableWidget* weightsTable() const { return m_table; }
  ExportWorker* worker() const { return m_worker; }
  // Where the export is recorded; empty = the default run log (tests point it elsewhere).
  void setRunLogPath(const QString& path) { m_runLogPath = path; }
  bool isExporting() const;

 public Q_SLOTS:
  void startExport();
  void reject() override;  // ignored while exporting

 Q_SIGNALS:
  void exported(const QString& dir);
  void exportFailed(const QString& dir, const QString& message);

 private:
  void browse();
  void setBusy(bool busy);
  void onFinished(const QString& dir, const QStringList& files, const std::vector<double>& h,
                  const std::vector<double>& losses, const QStringList& notes);
  void onFailed(const QString& dir, const QString& message);

  std::shared_ptr<const souplab::Model> m_bank;
  std::vector<double> m_h;
  QString m_runLogPath;
  QString m_lastDir;  // the exported folder, for "Open folder"

  QTableWidget* m_table = nullptr;
  QLineEdit* m_folder = nullptr;
  QPushButton* m_browse = nullptr;
  QComboBox* m_format = nullptr;
  QCheckBox* m_overwrite = nullptr;
  QCheckBox* m_losses = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_stage = nullptr;
  QLabel* m_result = nullptr;
  QPushButton* m_openFolder = nullptr;
  QPushButton* m_exportButton = nullptr;
  QPushButton* m_closeButton = nullptr;
  ExportWorker* m_worker = nullptr;
};

}  // namespace souplab::gui
