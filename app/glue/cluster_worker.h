#pragma once
// Splits a raw folder of unlabeled text into k domains (docs/DESIGN.md §1.5; engine/nn/corpus_cluster.h)
// off the GUI thread, as a ThreadedJob: progress(stage message, 0, 0) while it runs, then
// finished(summary) or failed(message). Clustering cannot be interrupted half-way.
#include <QString>
#include <QStringList>

#include "app/glue/threaded_job.h"

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

class ClusterWorker : public ThreadedJob {
  Q_OBJECT

 public:
  explicit ClusterWorker(QObject* parent = nullptr);
  // False (and nothing done) if a clustering is still running.
  bool start(const ClusterRequest& request);

 Q_SIGNALS:
  void finished(const souplab::gui::ClusterSummary& summary);
};

}  // namespace souplab::gui

Q_DECLARE_METATYPE(souplab::gui::ClusterSummary)
