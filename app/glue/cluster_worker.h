#pragma once
// Splits a raw folder of unlabeled text into k domains (DESIGN §1.5; engine/nn/corpus_cluster.h)
// off the GUI thread. One thread per run; engine progress and the result come back as queued
// signals; exceptions stop at the thread boundary and become failed(message).
#include <QObject>
#include <QString>
#include <QStringList>

class QThread;

namespace souplab::gui {

struct ClusterRequest {
  QString rawDir;    // folder (or file) of documents
  QString outDir;    // new corpus folder (must be empty unless overwrite)
  int k = 8;
  int restarts = 4;
  quint64 seed = 0;
  bool overwrite = false;
};

// What the dialog shows when clustering is done.
struct ClusterSummary {
  QString outDir;
  qulonglong documents = 0, units = 0, bytes = 0;
  QStringList clusterLines;  // "03_def_self: 120 documents, 512 KB — "def" "self" …"
  double seconds = 0;
  double purity = -1, inversePurity = -1;  // against the raw folder's sub-folders, if any
};

class ClusterWorker : public QObject {
  Q_OBJECT

 public:
  explicit ClusterWorker(QObject* parent = nullptr);
  ~ClusterWorker() override;  // waits for a running clustering (it cannot be interrupted)

  // Starts on a thread of its own. False (and nothing done) if one is still running.
  bool start(const ClusterRequest& request);
  bool isRunning() const { return m_running; }
  bool wait(int msecs = -1);

 Q_SIGNALS:
  void progress(const QString& stage, const QString& message);
  void finished(const souplab::gui::ClusterSummary& summary);
  void failed(const QString& message);

 private:
  QThread* m_thread = nullptr;
  bool m_running = false;
};

}  // namespace souplab::gui

Q_DECLARE_METATYPE(souplab::gui::ClusterSummary)
