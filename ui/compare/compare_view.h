#pragma once
// The "Compare" page (issue 9): the user adds models (soup checkpoints, optionally at an h written
// PATH@H, dense baselines, exported specialists, post-hoc and merged folders) and target
// mixtures, and sees every model's per-domain and target validation losses side by side as a
// grouped bar chart and a table. Evaluation runs on a CompareWorker thread; building experts,
// PHATGOOSE or WEMoE runs on a PosthocWorker through PosthocDialog, and the result is added here.
#include <QWidget>

#include "souplab/compare.h"

class QCustomPlot;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace souplab::gui {

class CompareWorker;

class CompareView : public QWidget {
  Q_OBJECT

 public:
  explicit CompareView(QWidget* parent = nullptr);
  ~CompareView() override;

  void addModel(const QString& spec);
  QStringList models() const;
  void setTargets(const QString& targets);  // ';'-separated domain-weight texts
  // Starts an evaluation of the listed models; false if one is running or nothing is listed.
  bool evaluate();
  CompareWorker* worker() const { return m_worker; }
  const souplab::CompareResult& result() const { return m_result; }

 Q_SIGNALS:
  void errorOccurred(const QString& message);
  void evaluated();

 private:
  void showResult(const souplab::CompareResult& r);
  void addModelsDialog();
  void addFolderDialog();
  void buildDialog();

  QListWidget* m_models;
  QLineEdit* m_targets;
  QSpinBox* m_windows;
  QPushButton* m_evaluate;
  QProgressBar* m_progress;
  QLabel* m_status;
  QCustomPlot* m_plot;
  QTableWidget* m_table;
  CompareWorker* m_worker;
  souplab::CompareResult m_result;
};

}  // namespace souplab::gui
