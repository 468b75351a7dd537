#pragma once
// "Fine-tune on a text…": the paper's "instantiate at h, then fine-tune on the target" as a GUI
// action, the twin of `souplab-cli finetune`. The user picks a target text (file or folder), the
// steps and the output folder; a FinetuneWorker trains the specialist on the sliders' h off the
// GUI thread, the dialog shows the steps going by and, at the end, the held-out target loss
// before and after, and where the fine-tuned model was exported. Stop ends training early and
// still exports what was trained.
#include <QDialog>
#include <QString>
#include <memory>
#include <vector>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace souplab {
class Model;
}

namespace souplab::gui {

class FinetuneWorker;
struct FinetuneOutcome;

class FinetuneDialog : public QDialog {
  Q_OBJECT

 public:
  FinetuneDialog(std::shared_ptr<const souplab::Model> model, const std::vector<double>& h,
                 QWidget* parent = nullptr);
  ~FinetuneDialog() override;

  QLineEdit* targetEdit() const { return m_target; }
  QLineEdit* folderEdit() const { return m_folder; }
  QSpinBox* stepsSpin() const { return m_steps; }
  QPushButton* startButton() const { return m_start; }
  QPushButton* stopButton() const { return m_stop; }
  QLabel* resultLabel() const { return m_result; }
  FinetuneWorker* worker() const { return m_worker; }
  void setRunLogPath(const QString& path) { m_runLogPath = path; }  // tests: a log of their own
  bool isRunning() const;

 public Q_SLOTS:
  void startFinetune();
  void reject() override;  // ignored while training: the thread must finish (Stop ends it early)

 Q_SIGNALS:
  void finetuned(const QString& dir);
  void finetuneFailed(const QString& dir, const QString& message);

 private:
  void setBusy(bool busy);
  void onFinished(const FinetuneOutcome& outcome);

  std::shared_ptr<const souplab::Model> m_model;
  std::vector<double> m_h;
  QString m_runLogPath;
  QLineEdit* m_target = nullptr;
  QLineEdit* m_folder = nullptr;
  QSpinBox* m_steps = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_result = nullptr;
  QPushButton* m_start = nullptr;
  QPushButton* m_stop = nullptr;
  QPushButton* m_close = nullptr;
  FinetuneWorker* m_worker = nullptr;
};

}  // namespace souplab::gui
