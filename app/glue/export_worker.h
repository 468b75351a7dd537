#pragma once
// Runs one specialist export (export_bank_specialist: instantiate, optional validation losses,
// write the folder, log it in the run log) off the GUI thread (STYLE "Threads"). Exceptions
// stop at the thread boundary and become failed(folder, message); results and progress come
// back as queued signals on the owner's thread.
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "engine/export/specialist_export.h"

class QThread;

namespace souplab {
class Bank;
}

namespace souplab::gui {

struct ExportRequest {
  // The bank the explorer holds (immutable, so shared across threads); when null, bankPath is
  // opened on the export thread.
  std::shared_ptr<const souplab::Bank> bank;
  QString bankPath;
  QString device = QStringLiteral("auto");
  std::vector<double> h;  // in the bank's domain order
  QString outDir;
  souplab::ExportFormat format = souplab::ExportFormat::kAll;
  bool overwrite = false;
  bool withLosses = true;
  int windows = 16;    // validation windows per domain, as `souplab-cli export`
  QString runLogPath;  // empty = the default run log
};

class ExportWorker : public QObject {
  Q_OBJECT

 public:
  explicit ExportWorker(QObject* parent = nullptr);
  ~ExportWorker() override;  // waits for a running export: its thread posts back to `this`

  // Starts the export on a thread of its own. False (and nothing done) if one is still running.
  bool start(const ExportRequest& request);
  // True from start() until finished/failed has been delivered.
  bool isRunning() const { return m_running; }
  // Joins the export thread (msecs < 0: no limit); its signals arrive with the next events.
  bool wait(int msecs = -1);

 Q_SIGNALS:
  // `done` of `total` stages, with a sentence saying what is going on.
  void progress(const QString& stage, int done, int total);
  // losses: per-domain validation losses (empty when not asked for or the data is missing);
  // notes: what was left out and why (no losses, not recorded in the run log).
  void finished(const QString& dir, const QStringList& files, const std::vector<double>& h,
                const std::vector<double>& losses, const QStringList& notes);
  void failed(const QString& dir, const QString& message);

 private:
  QThread* m_thread = nullptr;
  bool m_running = false;
};

}  // namespace souplab::gui
