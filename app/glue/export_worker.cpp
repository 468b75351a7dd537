#include "app/glue/export_worker.h"

#include <QFileInfo>
#include <algorithm>
#include <exception>
#include <new>

#include "souplab/model.h"

namespace souplab::gui {

ExportWorker::ExportWorker(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<std::vector<double>>("std::vector<double>");
}

bool ExportWorker::start(const ExportRequest& request) {
  const QString dir = QFileInfo(request.outDir).absoluteFilePath();
  return launch(QStringLiteral("souplab-export"), [this, request, dir](const Post& post, const std::atomic<bool>&) {
    int done = 0, total = 0;
    const auto step = [&](const QString& stage) {
      const int d = ++done, t = std::max(total, d);
      post([this, stage, d, t] { Q_EMIT progress(stage, d, t); });
    };
    // The folder is named in every failure: exceptions end here, not in ThreadedJob's failed().
    const auto fail = [&](const QString& message) {
      post([this, dir, message] {
        markDone();
        Q_EMIT exportFailed(dir, message);
      });
    };
    try {
      std::shared_ptr<const souplab::Model> model = request.model;
      if (!model) {
        total = 1;
        step(tr("Opening %1…").arg(request.modelPath));
        model = souplab::Model::load(request.modelPath.toStdString(), request.device.toStdString());
      }
      // Stages: instantiate, evaluate, one per file, log in the run log.
      total = done + 1 + (request.withLosses ? 1 : 0) + souplab::export_file_count(request.format) +
              (model->facts().run_id > 0 ? 1 : 0);
      souplab::ModelExportOptions options;
      options.format = request.format;
      options.overwrite = request.overwrite;
      options.with_losses = request.withLosses;
      options.windows = request.windows;
      options.run_log_path = request.runLogPath.toStdString();
      std::vector<std::string> notes;
      const souplab::DomainWeights h =
          model->facts().domains.empty() ? souplab::DomainWeights() : model->weights(request.h);
      const souplab::ModelExportResult r = model->export_specialist(
          h, dir.toStdString(), options, &notes, [&](const std::string& stage) {
            if (stage == "instantiating") step(tr("Instantiating the specialist…"));
            else if (stage == "evaluating") step(tr("Computing validation losses for the model card…"));
            else if (stage == "logging") step(tr("Recording the export in the run log…"));
            else step(tr("Wrote %1").arg(QString::fromStdString(stage.substr(stage.find(' ') + 1))));
          });
      QStringList files, noteList;
      for (const auto& f : r.files) files << QString::fromStdString(f);
      for (const auto& n : notes) noteList << QString::fromStdString(n);
      const QString finalDir = QString::fromStdString(r.dir);
      post([this, finalDir, files, h = r.h.values(), losses = r.val_losses, noteList] {
        markDone();
        Q_EMIT finished(finalDir, files, h, losses, noteList);
      });
    } catch (const std::bad_alloc&) {
      fail(tr("%1: not enough memory to export this specialist").arg(dir));
    } catch (const std::exception& e) {
      fail(QString::fromStdString(e.what()));
    } catch (...) {
      fail(tr("%1: the export failed with an unknown error").arg(dir));
    }
  });
}

}  // namespace souplab::gui
