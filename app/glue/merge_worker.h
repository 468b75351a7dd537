#pragma once
// Merges models off the GUI thread for the merge page (docs/DESIGN.md §10.3 "Threads"). Lives on its own
// thread (WorkerThread); holds the opened inputs (plain float copies, immutable once loaded) and
// the validation windows of the first input that records a corpus.
//
// Weight and parameter changes are coalesced, latest wins, exactly like InferenceWorker's slider
// moves (LatestRequest): requestMerge() stores the newest settings and posts at most one
// wake-up; the worker merges and evaluates only the newest settings it finds, and abandons an
// evaluation as soon as newer settings arrive. Exceptions never leave the worker thread: they become
// errorOccurred(message) or exportFailed(dir, message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "app/glue/latest_request.h"
#include "souplab/export.h"
#include "souplab/merge_math.h"

namespace souplab {
struct MergeModel;
class MergedModel;
class ValidationSet;
}  // namespace souplab

namespace souplab::gui {

struct MergeSettings {
  souplab::MergeParams params;
  std::vector<double> weights;  // one per input model, in the order loaded
};

class MergeWorker : public QObject {
  Q_OBJECT

 public:
  explicit MergeWorker(QObject* parent = nullptr);
  ~MergeWorker() override;

  // Thread-safe (GUI thread). Returns the request's generation, echoed by mergeReady().
  quint64 requestMerge(const MergeSettings& settings);
  void setValidationWindows(int windowsPerDomain) { m_windows = windowsPerDomain; }
  quint64 mergeCount() const { return m_merges.load(); }  // merges done: the coalescing probe

 public Q_SLOTS:
  // Worker thread (invoke queued). Opens the models and the base (empty = none; soups are
  // instantiated at the matching entry of `weights`, parse_domain_weights syntax, empty =
  // uniform), the validation windows, and every input's losses on them. Pending requests are
  // dropped: the page requests again after inputsLoaded.
  void loadInputs(const QStringList& models, const QStringList& weights, const QString& base,
                  const QString& baseWeights);
  // Worker thread. Writes the newest merged model like a specialist export.
  void exportMerged(const QString& outDir, souplab::ExportFormat format, bool overwrite,
                    const QString& runLogPath);

 Q_SIGNALS:
  // labels: one per model; baseLabel empty without a base; domains empty without validation data.
  void inputsLoaded(const QStringList& labels, const QString& baseLabel, const QStringList& domains);
  // Validation losses of input `index` (-1 = the base) on the same windows as the merges.
  void inputLosses(int index, const std::vector<double>& losses);
  // losses empty without validation data.
  void mergeReady(quint64 generation, const std::vector<double>& losses, const QString& description,
                  double mergeMs, double evalMs);
  void exportFinished(const QString& dir, const QStringList& files, const QStringList& notes);
  void exportFailed(const QString& dir, const QString& message);
  void errorOccurred(const QString& message);

 private:
  void processLatest();  // worker thread

  // Worker-thread state.
  std::vector<std::shared_ptr<const souplab::MergeModel>> m_models;
  std::shared_ptr<const souplab::MergeModel> m_base;
  std::shared_ptr<const souplab::ValidationSet> m_validation;
  std::shared_ptr<const souplab::MergedModel> m_merged;  // the newest merge, for export
  std::vector<double> m_mergedLosses;
  QStringList m_domains;

  // Shared with the GUI thread.
  LatestRequest<MergeSettings> m_requests;
  std::atomic<bool> m_loaded{false};  // inputs are open: requests can be served

  std::atomic<int> m_windows{4};
  std::atomic<quint64> m_merges{0};
};

}  // namespace souplab::gui
