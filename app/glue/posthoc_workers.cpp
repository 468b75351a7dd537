#include "app/glue/posthoc_workers.h"

#include <QFileInfo>
#include <exception>
#include <new>

#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/posthoc.h"

namespace souplab::gui {

bool CompareWorker::start(const QStringList& models, const QStringList& targets, int windows) {
  qRegisterMetaType<souplab::CompareResult>("souplab::CompareResult");
  std::vector<std::string> m;
  for (const auto& s : models) m.push_back(s.toStdString());
  souplab::CompareOptions o;
  for (const auto& t : targets) o.targets.push_back(t.toStdString());
  o.windows = windows;
  return launch(QStringLiteral("souplab-compare"), [this, m, o](const Post& post, const std::atomic<bool>& cancel) mutable {
    o.cancelled = [&cancel] { return cancel.load(); };
    o.on_progress = [this, &post](size_t done, size_t total, const std::string& what) {
      const QString w = QString::fromStdString(what);
      post([this, w, done, total] { Q_EMIT progress(w, int(done), int(total)); });
    };
    auto r = souplab::compare_models(m, o);
    post([this, r] {
      markDone();
      Q_EMIT finished(r);
    });
  });
}

bool PosthocWorker::start(const PosthocRequest& q) {
  return launch(QStringLiteral("souplab-posthoc"), [this, q](const Post& post, const std::atomic<bool>& cancel) {
    const auto fill = [&](souplab::PosthocCommon& o) {
      o.run_log_path = q.runLogPath.toStdString();
      o.overwrite = q.overwrite;
      o.should_stop = [&cancel] { return cancel.load(); };
      o.on_progress = [this, &post](const souplab::PosthocProgress& p) {
        const QString w = QStringLiteral("%1 (loss %2)").arg(QString::fromStdString(p.stage)).arg(p.loss, 0, 'f', 3);
        post([this, w, p] { Q_EMIT progress(w, int(p.step), int(p.total_steps)); });
      };
    };
    const std::string out = QFileInfo(q.outDir).absoluteFilePath().toStdString();
    QString summary;
    switch (q.kind) {
      case souplab::ModelKind::kLoraExperts:
      case souplab::ModelKind::kFullExperts: {
        souplab::ExpertsOptions o;
        fill(o);
        o.kind = q.kind == souplab::ModelKind::kLoraExperts ? souplab::ExpertKind::kLora : souplab::ExpertKind::kFull;
        o.steps = q.steps;
        o.rank = q.rank;
        o.lr = q.lr;
        const auto r = souplab::train_experts(q.base.toStdString(), out, o);
        for (size_t i = 0; i < r.domains.size(); ++i)
          summary += QStringLiteral("%1: %2 → %3\n").arg(QString::fromStdString(r.domains[i]))
                         .arg(r.own_loss_base[i], 0, 'f', 4).arg(r.own_loss_expert[i], 0, 'f', 4);
        break;
      }
      case souplab::ModelKind::kWemoe: {
        souplab::WemoeOptions o;
        fill(o);
        o.steps = q.steps;
        if (q.lr > 0) o.lr = q.lr;
        o.target_weights =
            souplab::Model::load(q.base.toStdString(), "auto")->parse_weights(q.targetWeights.toStdString());
        const auto r = souplab::build_wemoe(q.base.toStdString(), q.experts.toStdString(), out, o);
        summary = QStringLiteral("target loss %1 (task arithmetic) → %2 (trained router)")
                      .arg(r.target_loss_start, 0, 'f', 4).arg(r.target_loss_end, 0, 'f', 4);
        break;
      }
      case souplab::ModelKind::kPhatgoose: {
        souplab::PhatgooseOptions o;
        fill(o);
        o.router = q.router;
        o.gate_steps = q.steps;
        if (q.lr > 0) o.gate_lr = q.lr;
        souplab::build_phatgoose(q.experts.toStdString(), out, o);
        summary = QStringLiteral("%1 routing over the LoRA experts").arg(souplab::router_name(q.router));
        break;
      }
      default:
        throw souplab::Error(std::string("a ") + souplab::model_kind_name(q.kind) + " model is not built post hoc");
    }
    const QString dir = QString::fromStdString(out);
    post([this, dir, summary] {
      markDone();
      Q_EMIT finished(dir, summary);
    });
  });
}

}  // namespace souplab::gui
