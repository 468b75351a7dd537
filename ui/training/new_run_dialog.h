#pragma once
// Asks for a new run's corpus and sizes. The corpus defaults to the demo corpus (built on first
// use); the other fields start at RunConfig's defaults, remembered across sessions.
#include <QDialog>

#include "app/glue/training_session.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;
class QLabel;
class QPushButton;

namespace souplab::gui {

class EstimateWorker;

class NewRunDialog : public QDialog {
  Q_OBJECT
 public:
  explicit NewRunDialog(QWidget* parent = nullptr);
  TrainRequest request() const;  // the run to start, from the fields
  void setCorpusDir(const QString& dir);
  // Fills the fields with a preset's size and budget (souplab/presets.h) and estimates its
  // time here; false for an unknown name. The preset picker does the same.
  bool choosePreset(const QString& name);
  QString estimateText() const;  // the estimate line as shown ("" until one arrived)

 private:
  void browseCorpus();
  void updateSummary();
  void estimateTime();  // off the GUI thread: a few steps measured here
  void accept() override;  // validates, remembers the fields

  QComboBox* m_preset = nullptr;
  QLabel* m_estimate = nullptr;
  QPushButton* m_estimateButton = nullptr;
  EstimateWorker* m_estimator = nullptr;
  bool m_fillingPreset = false;  // while choosePreset sets the fields
  QLineEdit* m_name = nullptr;
  QLineEdit* m_corpus = nullptr;
  QComboBox* m_kind = nullptr;
  QSpinBox* m_layers = nullptr;
  QSpinBox* m_embd = nullptr;
  QSpinBox* m_heads = nullptr;
  QSpinBox* m_block = nullptr;
  QSpinBox* m_experts = nullptr;
  QComboBox* m_topK = nullptr;
  QSpinBox* m_steps = nullptr;
  QDoubleSpinBox* m_lr = nullptr;
  QSpinBox* m_batch = nullptr;
  QSpinBox* m_evalInterval = nullptr;
  QComboBox* m_device = nullptr;
  QSpinBox* m_processes = nullptr;  // data-parallel ranks on this machine
  QCheckBox* m_shardBank = nullptr;
  QCheckBox* m_denseAfter = nullptr;  // then a dense baseline with the same budget
  QLabel* m_summary = nullptr;
};

}  // namespace souplab::gui
