#pragma once
// The "Merge" page: pick models and a base (exported specialists or checkpoints; a soup at some
// h), a method (linear, task arithmetic, TIES, DARE, DARE-TIES) with its parameters, and one
// weight slider per model. Every change merges again on a worker thread (latest wins) and the
// bars show the merged model's per-domain validation loss next to any one input's or the base's.
// Export… writes the merged model like a specialist export.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <vector>

#include "app/glue/merge_worker.h"
#include "app/glue/worker_thread.h"

class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace souplab::gui {

class LossChart;

class MergePage : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kSliderSteps = 200;     // weight 0 .. kMaxSliderWeight in 0.01 steps
  static constexpr double kMaxSliderWeight = 2.0;

  explicit MergePage(QWidget* parent = nullptr);
  ~MergePage() override;

  // What the file dialogs end in (also the tests' way in). soupWeights: h per model for soups
  // (parse_domain_weights syntax; empty = uniform).
  void setInputs(const QStringList& models, const QString& base = {}, const QStringList& soupWeights = {},
                 const QString& baseWeights = {});
  void setMethod(souplab::MergeMethod method);
  void setWeight(int index, double weight);  // moves that model's slider
  MergeSettings currentSettings() const;
  // Writes the newest merge to `dir` on the worker thread; exportFinished/exportFailed follow.
  void exportTo(const QString& dir, souplab::ExportFormat format = souplab::ExportFormat::kAll,
                bool overwrite = false, const QString& runLogPath = {});

  QSlider* weightSlider(int index) const;
  int modelCount() const { return int(m_rows.size()); }
  LossChart* chart() const { return m_chart; }
  MergeWorker* worker() const { return m_worker.get(); }
  const std::vector<double>& mergedLosses() const { return m_mergedLosses; }
  const std::vector<double>& inputLosses(int index) const;  // -1 = the base
  QString description() const { return m_description; }

 Q_SIGNALS:
  void inputsReady(const QStringList& domains);
  // The bars now show the merge of request `generation`.
  void mergeShown(quint64 generation, const std::vector<double>& losses);
  void exportFinished(const QString& dir, const QStringList& files, const QStringList& notes);
  void exportFailed(const QString& dir, const QString& message);
  void errorOccurred(const QString& message);

 private:
  struct Row {
    QString path;
    QLabel* name = nullptr;
    QLineEdit* h = nullptr;
    QSlider* slider = nullptr;
    QDoubleSpinBox* spin = nullptr;
    QPushButton* remove = nullptr;
  };
  void addModelDialog();
  void chooseBaseDialog();
  void exportDialog();
  void rebuildRows(const QStringList& paths, const QStringList& soupWeights);
  void reload();         // inputs changed: open them again on the worker
  void requestMerge();   // weights or parameters changed
  void updateParameterWidgets();
  void updateReference();
  void onInputsLoaded(const QStringList& labels, const QString& baseLabel, const QStringList& domains);
  void onMergeReady(quint64 generation, const std::vector<double>& losses, const QString& description,
                    double mergeMs, double evalMs);

  std::vector<Row> m_rows;
  QString m_basePath;
  QStringList m_domains;
  QStringList m_labels;
  QString m_baseLabel;
  std::vector<std::vector<double>> m_inputLosses;  // per model
  std::vector<double> m_baseLosses;
  std::vector<double> m_mergedLosses;
  QString m_description;
  bool m_loaded = false;

  QGridLayout* m_grid = nullptr;
  QLabel* m_baseName = nullptr;
  QLineEdit* m_baseH = nullptr;
  QComboBox* m_method = nullptr;
  QDoubleSpinBox* m_lambda = nullptr;
  QDoubleSpinBox* m_density = nullptr;
  QSpinBox* m_seed = nullptr;
  QComboBox* m_compare = nullptr;
  LossChart* m_chart = nullptr;
  QLabel* m_status = nullptr;
  QPushButton* m_export = nullptr;

  WorkerThread<MergeWorker> m_worker{QStringLiteral("souplab-merge")};
};

}  // namespace souplab::gui
