#include "app/glue/finetune_worker.h"

#include <QFileInfo>
#include <exception>
#include <new>

#include "souplab/finetune.h"
#include "souplab/model.h"

namespace souplab::gui {

FinetuneWorker::FinetuneWorker(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<souplab::gui::FinetuneOutcome>();
}

bool FinetuneWorker::start(const FinetuneRequest& request) {
  const QString dir = QFileInfo(request.outDir).absoluteFilePath();
  return launch(QStringLiteral("souplab-finetune"), [this, request, dir](const Post& post, const std::atomic<bool>& cancel) {
    const auto fail = [&](const QString& message) {  // the folder is named in every failure
      post([this, dir, message] {
        markDone();
        Q_EMIT finetuneFailed(dir, message);
      });
    };
    try {
      souplab::FinetuneOptions o;
      o.steps = request.steps;
      o.lr = request.lr;
      o.holdout = request.holdout;
      o.device = request.model->facts().device;
      o.progress = [&](int64_t step, int64_t steps, double loss) {
        if (step % 5 == 0 || step == steps)
          post([this, step, steps, loss] {
            Q_EMIT progress(tr("Step %1 of %2, training loss %3").arg(step).arg(steps).arg(loss, 0, 'f', 4),
                            int(step), int(steps));
          });
        return !cancel.load();
      };
      souplab::ModelExportOptions eo;
      eo.format = request.format;
      eo.overwrite = request.overwrite;
      eo.run_log_path = request.runLogPath.toStdString();
      const souplab::DomainWeights h =
          request.model->facts().domains.empty() ? souplab::DomainWeights() : request.model->weights(request.h);
      std::vector<std::string> notes;
      const auto r = souplab::finetune_and_export(*request.model, h, request.target.toStdString(), o,
                                                  dir.toStdString(), eo, &notes);
      FinetuneOutcome out;
      out.dir = QString::fromStdString(r.exported.dir);
      for (const auto& f : r.exported.files) out.files << QString::fromStdString(f);
      for (const auto& n : notes) out.notes << QString::fromStdString(n);
      out.lossBefore = r.tuned.loss_before;
      out.lossAfter = r.tuned.loss_after;
      out.steps = r.tuned.steps;
      out.cancelled = r.tuned.cancelled;
      out.seconds = r.tuned.seconds;
      post([this, out] {
        markDone();
        Q_EMIT finished(out);
      });
    } catch (const std::bad_alloc&) {
      fail(tr("%1: not enough memory to fine-tune this specialist").arg(dir));
    } catch (const std::exception& e) {
      fail(QString::fromStdString(e.what()));
    } catch (...) {
      fail(tr("%1: the fine-tune failed with an unknown error").arg(dir));
    }
  });
}

}  // namespace souplab::gui
