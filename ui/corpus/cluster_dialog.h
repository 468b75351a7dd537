#pragma once
// "New corpus from unlabelled text…": the GUI twin of `souplab-cli corpus cluster`. The user picks
// a folder of documents with no domain labels, k and an output folder; clustering runs on a
// ClusterWorker thread with its stages shown; the result lists the clusters by their readable
// names and offers "Train a bank on it…", which hands the new corpus to the new-run dialog.
#include <QDialog>

#include "app/glue/cluster_worker.h"

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QCheckBox;

namespace souplab::gui {

class ClusterDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ClusterDialog(QWidget* parent = nullptr);
  ~ClusterDialog() override;

  QLineEdit* rawEdit() const { return m_raw; }
  QLineEdit* outEdit() const { return m_out; }
  QSpinBox* kSpin() const { return m_k; }
  QPushButton* clusterButton() const { return m_cluster; }
  QPushButton* trainButton() const { return m_train; }
  QPlainTextEdit* resultView() const { return m_result; }
  ClusterWorker* worker() const { return m_worker; }

 Q_SIGNALS:
  // The user asked to train on the corpus just written.
  void trainRequested(const QString& corpusDir);

 private:
  void startClustering();
  void showSummary(const ClusterSummary& summary);
  void reject() override;  // not while the worker writes the corpus

  QLineEdit* m_raw = nullptr;
  QLineEdit* m_out = nullptr;
  QSpinBox* m_k = nullptr;
  QSpinBox* m_restarts = nullptr;
  QCheckBox* m_overwrite = nullptr;
  QLabel* m_status = nullptr;
  QPlainTextEdit* m_result = nullptr;
  QPushButton* m_cluster = nullptr;
  QPushButton* m_train = nullptr;
  ClusterWorker* m_worker = nullptr;
  QString m_written;  // corpus folder of the last finished clustering
};

}  // namespace souplab::gui
