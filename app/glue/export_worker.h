#pragma once
// Runs one specialist export (Model::export_specialist: instantiate, optional validation losses,
// write the folder, log it in the run log) off the GUI thread, as a ThreadedJob: progress(stage,
// done, total) while it runs, then finished(...) or exportFailed(folder, message).
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "app/glue/threaded_job.h"
#include "souplab/domain_weights.h"
#include "souplab/export.h"

namespace souplab {
class Model;
}

namespace souplab::gui {

struct ExportRequest {
  // The model the explorer holds (immutable, so shared across threads); when null, modelPath is
  // opened on the export thread.
  std::shared_ptr<const souplab::Model> model;
  QString modelPath;
  QString device = QStringLiteral("auto");
  std::vector<double> h;  // in the model's domain order
  QString outDir;
  souplab::ExportFormat format = souplab::ExportFormat::kAll;
  bool overwrite = false;
  bool withLosses = true;
  int windows = 16;    // validation windows per domain, as `souplab-cli export`
  QString runLogPath;  // empty = the default run log
};

class ExportWorker : public ThreadedJob {
  Q_OBJECT

 public:
  explicit ExportWorker(QObject* parent = nullptr);

  // Starts the export on a thread of its own. False (and nothing done) if one is still running.
  bool start(const ExportRequest& request);

 Q_SIGNALS:
  // losses: per-domain validation losses (empty when not asked for or the data is missing);
  // notes: what was left out and why (no losses, not recorded in the run log).
  void finished(const QString& dir, const QStringList& files, const std::vector<double>& h,
                const std::vector<double>& losses, const QStringList& notes);
  void exportFailed(const QString& dir, const QString& message);
};

}  // namespace souplab::gui
