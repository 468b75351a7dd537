#include "app/glue/merge_worker.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>
#include <exception>

#include "souplab/merge.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab::gui {

MergeWorker::MergeWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
}

MergeWorker::~MergeWorker() = default;

quint64 MergeWorker::requestMerge(const MergeSettings& settings) {
  // One queued call at most: the slot, not the event queue, carries the data.
  return m_requests.put(settings, [this] {
    QMetaObject::invokeMethod(this, [this] { processLatest(); }, Qt::QueuedConnection);
  });
}

void MergeWorker::processLatest() {
  // Before the inputs are open a request stays pending; loadInputs() serves it later.
  while (auto taken = m_requests.take(m_loaded.load())) {
    const MergeSettings& s = taken->request;
    if (s.weights.size() != m_models.size()) continue;  // sized for inputs since replaced
    try {
      QElapsedTimer timer;
      timer.start();
      std::vector<const souplab::MergeModel*> models;
      for (const auto& m : m_models) models.push_back(m.get());
      auto merged = souplab::merge_models(models, s.weights, m_base.get(), s.params);
      const double mergeMs = double(timer.nsecsElapsed()) / 1e6;
      ++m_merges;
      std::vector<double> losses;
      double evalMs = 0;
      if (m_validation) {
        timer.restart();
        losses = merged->instantiate({})->evaluate(*m_validation, [this] { return m_requests.newerWaiting(); });
        evalMs = double(timer.nsecsElapsed()) / 1e6;
        if (losses.empty()) continue;  // newer settings came in: they go first
      }
      m_merged = merged;
      m_mergedLosses = losses;
      Q_EMIT mergeReady(taken->generation, losses, QString::fromStdString(souplab::describe_merge(*merged)),
                        mergeMs, evalMs);
    } catch (const std::exception& e) {
      m_merged.reset();  // an export must not write an older merge than the settings shown
      Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
  }
}

void MergeWorker::loadInputs(const QStringList& models, const QStringList& weights, const QString& base,
                             const QString& baseWeights) {
  m_loaded = false;
  m_models.clear();
  m_base.reset();
  m_validation.reset();
  m_merged.reset();
  m_domains.clear();
  QStringList labels;
  QString baseLabel;
  try {
    for (int i = 0; i < models.size(); ++i) {
      const QString h = i < weights.size() ? weights[i] : QString();
      m_models.push_back(std::make_shared<const souplab::MergeModel>(
          souplab::load_merge_model(models[i].toStdString(), h.toStdString())));
      labels << QString::fromStdString(m_models.back()->label);
    }
    if (!base.isEmpty()) {
      m_base = std::make_shared<const souplab::MergeModel>(
          souplab::load_merge_model(base.toStdString(), baseWeights.toStdString()));
      baseLabel = QString::fromStdString(m_base->label);
    }
  } catch (const std::exception& e) {
    m_models.clear();
    m_base.reset();
    Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    Q_EMIT inputsLoaded({}, {}, {});
    return;
  }
  std::vector<const souplab::MergeModel*> sources;
  if (m_base) sources.push_back(m_base.get());
  for (const auto& m : m_models) sources.push_back(m.get());
  if (!sources.empty()) {
    try {
      m_validation = souplab::merge_validation_set(sources, m_windows.load());
      for (const auto& d : m_validation->domains()) m_domains << QString::fromStdString(d);
    } catch (const std::exception& e) {
      Q_EMIT errorOccurred(QStringLiteral("no validation losses: %1").arg(QString::fromStdString(e.what())));
    }
  }
  m_requests.dropPending();  // requests for the previous inputs are void
  m_loaded = true;
  Q_EMIT inputsLoaded(labels, baseLabel, m_domains);
  // Each input's own losses: the bars the merge is compared against.
  if (m_validation) {
    try {
      if (m_base) Q_EMIT inputLosses(-1, m_base->specialist->evaluate(*m_validation));
      for (size_t i = 0; i < m_models.size(); ++i)
        Q_EMIT inputLosses(int(i), m_models[i]->specialist->evaluate(*m_validation));
    } catch (const std::exception& e) {
      Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
  }
  processLatest();
}

void MergeWorker::exportMerged(const QString& outDir, souplab::ExportFormat format, bool overwrite,
                               const QString& runLogPath) {
  const QString dir = QFileInfo(outDir).absoluteFilePath();
  if (!m_merged) {
    Q_EMIT exportFailed(dir, tr("nothing to export yet: no merge has succeeded with the current settings"));
    return;
  }
  try {
    souplab::ModelExportOptions o;
    o.format = format;
    o.overwrite = overwrite;
    o.run_log_path = runLogPath.toStdString();
    o.known_losses = m_mergedLosses;  // the bars shown: the card states what the user saw
    o.with_losses = false;
    std::vector<std::string> notes;
    const auto r = m_merged->export_specialist({}, dir.toStdString(), o, &notes);
    QStringList files, noteList;
    for (const auto& f : r.files) files << QString::fromStdString(f);
    for (const auto& n : notes) noteList << QString::fromStdString(n);
    Q_EMIT exportFinished(QString::fromStdString(r.dir), files, noteList);
  } catch (const std::exception& e) {
    Q_EMIT exportFailed(dir, QString::fromStdString(e.what()));
  }
}

}  // namespace souplab::gui
