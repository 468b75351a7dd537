#pragma once
// Estimates a target text's domain weights (DESIGN §1.5; engine/nn/target_weights.h) off the GUI
// thread: "histogram" (nearest training-domain centroids) or "fit" (minimise the bank's loss on
// the target over h). Same pattern as ExportWorker: a thread per estimate, exceptions stop at the
// thread boundary and become failed(message), results come back as queued signals.
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <vector>

class QThread;

namespace souplab::gui {

struct WeightsRequest {
  QString method = QStringLiteral("fit");  // "fit" or "histogram"
  QString targetPath;                      // file or folder of text
  QString bankPath;                        // soup checkpoint (fit)
  QString corpusDir, cacheDir;             // the bank's corpus (histogram)
  int blockSize = 256;                     // the bank's context: the corpus cache's minimum domain size
  QString device = QStringLiteral("auto");
  int steps = 40;
};

class WeightsWorker : public QObject {
  Q_OBJECT

 public:
  explicit WeightsWorker(QObject* parent = nullptr);
  ~WeightsWorker() override;  // cancels and waits for a running estimate

  // Starts on a thread of its own. False (and nothing done) if one is still running.
  bool start(const WeightsRequest& request);
  bool isRunning() const { return m_running; }
  // Asks a running fit to stop after its current step (then failed("cancelled") follows).
  // Thread-safe; deliberately not a slot.
  void cancel() { m_cancel = true; }
  bool wait(int msecs = -1);

 Q_SIGNALS:
  void progress(const QString& message, int done, int total);
  // h in the bank's domain order; summary: one sentence for a status line (loss or pieces).
  void finished(const std::vector<double>& h, const QString& summary);
  void failed(const QString& message);

 private:
  QThread* m_thread = nullptr;
  bool m_running = false;
  std::atomic<bool> m_cancel{false};
};

}  // namespace souplab::gui
