#pragma once
// "Build post-hoc…": trains per-domain LoRA or full experts from a base checkpoint, PHATGOOSE
// (or its prototype / Arrow / merged baselines) over LoRA experts, or WEMoE over full experts,
// on a PosthocWorker thread with a progress bar and Cancel. Emits built(folder) when done.
#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QSpinBox;

namespace souplab::gui {

class PosthocWorker;

class PosthocDialog : public QDialog {
  Q_OBJECT

 public:
  explicit PosthocDialog(QWidget* parent = nullptr);
  PosthocWorker* worker() const { return m_worker; }
  // Starts the build from the fields; false (with the reason in the status line) if invalid.
  bool startBuild();

  QComboBox* methodBox() const { return m_method; }
  QLineEdit* baseEdit() const { return m_base; }
  QLineEdit* expertsEdit() const { return m_experts; }
  QLineEdit* outEdit() const { return m_out; }
  QLineEdit* targetEdit() const { return m_target; }
  QSpinBox* stepsBox() const { return m_steps; }

 Q_SIGNALS:
  void built(const QString& dir);

 private:
  void updateFields();
  void reject() override;

  QComboBox* m_method;
  QLineEdit *m_base, *m_experts, *m_out, *m_target;
  QSpinBox *m_steps, *m_rank;
  QProgressBar* m_progress;
  QLabel* m_status;
  QDialogButtonBox* m_buttons;
  PosthocWorker* m_worker;
};

}  // namespace souplab::gui
