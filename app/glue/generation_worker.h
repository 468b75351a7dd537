#pragma once
// Samples text from the live specialist off the GUI thread, streaming pieces as they come.
//
// When the specialist changes (the user moved h) a running generation is cancelled and restarted
// with the new model and the same prompt. Cancelling goes through a std::atomic<bool> checked in
// generate_text's on_piece callback — deliberately not a slot, since the worker's event loop is
// busy inside generate_text. Requests (start, new specialist) are coalesced in a mutex-protected
// slot like the inference worker's: only the newest is run.
//
// Every run has an id; pieces carry it so the GUI can ignore stragglers from a cancelled run that
// were already queued.
#include <QObject>
#include <QString>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "app/glue/inference_worker.h"  // SpecialistPtr
#include "souplab/specialist.h"  // SampleOptions

namespace souplab::gui {

class GenerationWorker : public QObject {
  Q_OBJECT

 public:
  explicit GenerationWorker(QObject* parent = nullptr);

  // All thread-safe (called from the GUI thread).
  // Starts (or restarts) sampling from the current specialist.
  void start(const QString& prompt, const souplab::SampleOptions& options);
  // The model to sample from from now on; restarts a generation that is running.
  void setSpecialist(SpecialistPtr specialist);
  // Cancels the running generation; nothing restarts until the next start().
  void stop();
  bool isActive() const;  // a generation is running or about to (re)start

  quint64 piecesEmitted() const { return m_pieces.load(); }

 Q_SIGNALS:
  void started(quint64 runId);
  void pieceReady(quint64 runId, const QString& piece);
  // stopped: cancelled (by stop() or a restart) rather than run to its length.
  void finished(quint64 runId, bool stopped);
  void errorOccurred(const QString& message);

 private:
  void postWake();
  void runPending();  // worker thread

  mutable std::mutex m_mutex;
  SpecialistPtr m_specialist;
  std::string m_prompt;
  souplab::SampleOptions m_options;
  bool m_wanted = false;     // the user asked for text and has not stopped it
  quint64 m_request = 0;     // bumped by every start / specialist change while wanted
  quint64 m_done = 0;        // request taken by the worker last
  bool m_wakePending = false;

  std::atomic<bool> m_cancel{false};
  std::atomic<quint64> m_pieces{0};
};

}  // namespace souplab::gui
