#pragma once
// Instantiates specialists off the GUI thread (STYLE "Threads"). Lives on its own thread
// (WorkerThread) and holds an immutable Model snapshot plus the validation windows.
//
// Slider moves are coalesced, latest wins (LatestRequest): requestWeights() stores the newest h
// and posts at most one wake-up to the worker's event loop; the worker processes only the newest
// h it finds. Intermediate moves are dropped, never queued, so a burst of 50 moves costs at most
// 2 instantiations (the first may already be running when the rest arrive).
//
// Exceptions never leave the worker thread: they become errorOccurred(message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "app/glue/latest_request.h"
#include "souplab/model.h"

namespace souplab {
class Specialist;
class ValidationSet;
}  // namespace souplab

namespace souplab::gui {

using SpecialistPtr = std::shared_ptr<const souplab::Specialist>;

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  explicit InferenceWorker(QObject* parent = nullptr);
  ~InferenceWorker() override;

  // Thread-safe (called from the GUI thread). Returns the request's generation number, which
  // specialistReady() echoes so the caller can time slider-to-screen latency.
  quint64 requestWeights(const std::vector<double>& h);

  // Evaluation comes in two tiers, because at the demo size a full evaluation alone exceeds the
  // 100 ms slider-to-screen budget (DESIGN §4): every request gets a QUICK estimate on short
  // windows (shown at once, precise = false); when no newer request is waiting, the same
  // specialist is then evaluated on the FULL windows (precise = true). The reference is evaluated
  // on both, so bars side by side always come from the same windows.
  // Full tier: windows per domain of the model's context. Takes effect at the next loadBank().
  void setValidationWindows(int windowsPerDomain) { m_windows = windowsPerDomain; }
  // Quick tier: up to `windowsPerDomain` windows of up to `blockSize` tokens, fewer and shorter
  // for many domains (souplab::quick_window_shape's token budget). blockSize 0, or a model
  // context no longer than the window, leaves only the full tier. Takes effect at loadBank().
  void setQuickEvaluation(int blockSize, int windowsPerDomain) {
    m_quickBlock = blockSize;
    m_quickWindows = windowsPerDomain;
  }
  void setDevice(const QString& device);

  // Thread-safe: the model loaded last, null while loading or after a failed load. A Model is
  // immutable, so other threads may use it (the export dialog and the domain-weights fit reuse
  // it rather than reading a checkpoint that training may since have pruned).
  std::shared_ptr<const souplab::Model> bank();

  // Instantiations done for requests (the reference is not counted): the coalescing test's probe.
  quint64 instantiationCount() const { return m_instantiations.load(); }

 public Q_SLOTS:
  // Both run on the worker thread (invoke them queued).
  // Opens a checkpoint or an exported specialist, its validation set, and the generic reference
  // (the bank at uniform h). Pending requests from a previous bank are dropped.
  void loadBank(const QString& path);
  // Replaces the reference by another model's losses on the same validation set: a dense
  // baseline or an exported specialist ("Compare with...").
  void loadReference(const QString& path);
  // Back to the bank's own reference (the soup at uniform h) after loadReference.
  void useBankReference();

 Q_SIGNALS:
  // can: what the model offers (the explorer enables its actions by it).
  void bankLoaded(const QString& summary, const QStringList& domains,
                  const std::vector<double>& trainingMixture, const souplab::ModelCapabilities& can);
  void referenceReady(const std::vector<double>& losses, const QString& label, bool precise);
  // Once or twice per processed request (quick, then precise; precise only with one tier).
  // losses is empty when the validation data is unavailable (the error was reported once).
  void specialistReady(quint64 generation, const std::vector<double>& h,
                       const std::vector<double>& losses, double instantiateMs, double evalMs,
                       SpecialistPtr specialist, bool precise);
  void errorOccurred(const QString& message);

 private:
  void processLatest();  // worker thread
  // Losses of `model` on the quick and full sets (either may be empty).
  std::pair<std::vector<double>, std::vector<double>> evaluateBoth(const souplab::Specialist& model) const;
  // The bank's own reference (its losses at reference_weights(), quick then full) as referenceReady.
  void emitBankReference(const std::pair<std::vector<double>, std::vector<double>>& losses);

  // Worker-thread state (m_bank is written under m_mutex, for bank()).
  std::shared_ptr<const souplab::Model> m_bank;
  std::shared_ptr<const souplab::ValidationSet> m_validation;  // full tier
  std::shared_ptr<const souplab::ValidationSet> m_quick;       // null: one tier only
  size_t m_domainCount = 0;

  // Shared with the GUI thread.
  LatestRequest<std::vector<double>> m_requests;  // the newest requested h
  std::mutex m_mutex;
  QString m_device = QStringLiteral("auto");

  std::atomic<int> m_windows{2};
  std::atomic<int> m_quickBlock{64};
  std::atomic<int> m_quickWindows{2};
  std::atomic<quint64> m_instantiations{0};
};

}  // namespace souplab::gui
