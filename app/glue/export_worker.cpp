#include "app/glue/export_worker.h"

#include <QFileInfo>
#include <QMetaObject>
#include <QDeadlineTimer>
#include <QThread>
#include <algorithm>
#include <exception>
#include <new>

#include "engine/nn/bank.h"
#include "engine/nn/export_bank_specialist.h"

namespace souplab::gui {

ExportWorker::ExportWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
}

ExportWorker::~ExportWorker() { wait(); }

bool ExportWorker::wait(int msecs) {
  if (!m_thread) return true;
  if (!m_thread->wait(msecs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(msecs)))
    return false;
  delete m_thread;
  m_thread = nullptr;
  return true;
}

bool ExportWorker::start(const ExportRequest& request) {
  if (m_running) return false;
  wait();  // the previous thread has posted its result already; reap it
  m_running = true;
  const QString dir = QFileInfo(request.outDir).absoluteFilePath();
  m_thread = QThread::create([this, request, dir] {
    // Runs on the export thread: only copies of the request and queued posts back to `this`.
    const auto post = [this](auto&& fn) { QMetaObject::invokeMethod(this, fn, Qt::QueuedConnection); };
    int done = 0, total = 0;
    const auto step = [&](const QString& stage) {
      const int d = ++done, t = std::max(total, d);
      post([this, stage, d, t] { Q_EMIT progress(stage, d, t); });
    };
    try {
      std::shared_ptr<const souplab::Bank> bank = request.bank;
      if (!bank) {
        total = 1;
        step(tr("Opening %1…").arg(request.bankPath));
        bank = souplab::Bank::load(request.bankPath.toStdString(), request.device.toStdString());
      }
      // Stages: instantiate, evaluate, one per file (3, or 4 for "all"), log in the run log.
      total = done + 1 + (request.withLosses ? 1 : 0) +
              (request.format == souplab::ExportFormat::kAll ? 4 : 3) +
              (bank->facts().run_id > 0 ? 1 : 0);
      souplab::BankExportOptions options;
      options.format = request.format;
      options.overwrite = request.overwrite;
      options.with_losses = request.withLosses;
      options.windows = request.windows;
      options.run_log_path = request.runLogPath.toStdString();
      std::vector<std::string> notes;
      const souplab::BankExportResult r = souplab::export_bank_specialist(
          *bank, request.h, dir.toStdString(), options, &notes, [&](const std::string& stage) {
            if (stage == "instantiating") step(tr("Instantiating the specialist…"));
            else if (stage == "evaluating") step(tr("Computing validation losses for the model card…"));
            else if (stage == "logging") step(tr("Recording the export in the run log…"));
            else step(tr("Wrote %1").arg(QString::fromStdString(stage.substr(stage.find(' ') + 1))));
          });
      QStringList files, noteList;
      for (const auto& f : r.files) files << QString::fromStdString(f);
      for (const auto& n : notes) noteList << QString::fromStdString(n);
      const QString finalDir = QString::fromStdString(r.dir);
      post([this, finalDir, files, h = r.h, losses = r.val_losses, noteList] {
        m_running = false;
        Q_EMIT finished(finalDir, files, h, losses, noteList);
      });
    } catch (const std::bad_alloc&) {
      post([this, dir] {
        m_running = false;
        Q_EMIT failed(dir, tr("%1: not enough memory to export this specialist").arg(dir));
      });
    } catch (const std::exception& e) {
      const QString message = QString::fromStdString(e.what());
      post([this, dir, message] {
        m_running = false;
        Q_EMIT failed(dir, message);
      });
    } catch (...) {
      post([this, dir] {
        m_running = false;
        Q_EMIT failed(dir, tr("%1: the export failed with an unknown error").arg(dir));
      });
    }
  });
  m_thread->setObjectName(QStringLiteral("souplab-export"));
  m_thread->start();
  return true;
}

}  // namespace souplab::gui
