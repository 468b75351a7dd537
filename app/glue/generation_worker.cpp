#include "app/glue/generation_worker.h"

#include <QMetaObject>
#include <exception>

#include "app/glue/core_share.h"
#include "app/glue/memory_tuning.h"

namespace souplab::gui {

GenerationWorker::GenerationWorker(QObject* parent) : QObject(parent) {}

void GenerationWorker::start(const QString& prompt, const souplab::SampleOptions& options) {
  bool post = false;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_prompt = prompt.toStdString();
    m_options = options;
    m_wanted = true;
    ++m_request;
    m_cancel = true;  // a run in progress gives way to this one
    post = !m_wakePending;
    m_wakePending = true;
  }
  if (post) postWake();
}

void GenerationWorker::setSpecialist(SpecialistPtr specialist) {
  bool post = false;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_specialist = std::move(specialist);
    if (!m_wanted) return;
    ++m_request;
    m_cancel = true;
    post = !m_wakePending;
    m_wakePending = true;
  }
  if (post) postWake();
}

void GenerationWorker::stop() {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_wanted = false;
  m_cancel = true;
}

bool GenerationWorker::isActive() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_wanted;
}

void GenerationWorker::postWake() {
  QMetaObject::invokeMethod(this, [this] { runPending(); }, Qt::QueuedConnection);
}

void GenerationWorker::runPending() {
  for (;;) {
    SpecialistPtr specialist;
    std::string prompt;
    souplab::SampleOptions options;
    quint64 runId = 0;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_wakePending = false;
      if (!m_wanted || !m_specialist || m_done == m_request) return;
      specialist = m_specialist;
      prompt = m_prompt;
      options = m_options;
      runId = m_done = m_request;
      // Reset under the lock: a request made after this point sets it again and is seen.
      m_cancel = false;
    }
    Q_EMIT started(runId);
    // The text is background work: it takes what the training, the GUI and the slider moves leave.
    runThisThreadInBackground();
    fitThisThreadToFreeCores();  // beside a training, only the cores it left (core_share.h)
    bool cancelled = false;
    try {
      specialist->generate(prompt, options, [&](const std::string& piece) {
        if (m_cancel.load()) {
          cancelled = true;
          return false;
        }
        ++m_pieces;
        Q_EMIT pieceReady(runId, QString::fromStdString(piece));
        return true;
      });
    } catch (const std::exception& e) {
      Q_EMIT errorOccurred(QStringLiteral("generation: %1").arg(QString::fromStdString(e.what())));
    } catch (...) {
      Q_EMIT errorOccurred(QStringLiteral("generation failed with an unknown error"));
    }
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      // Ran to its end (or failed) with nothing newer asked for: done until the next start().
      if (m_done == m_request) m_wanted = false;
    }
    specialist.reset();
    returnFreedMemory();  // the generation's caches are gone (memory_tuning.h)
    Q_EMIT finished(runId, cancelled);
  }
}

}  // namespace souplab::gui
