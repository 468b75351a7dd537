#include "app/glue/baseline_runs.h"

#include <QFileInfo>

#include <algorithm>

#include "souplab/run_log.h"

namespace souplab::gui {
namespace {

bool same_budget(const RunConfig& a, const RunConfig& b) {
  return a.model.n_layer == b.model.n_layer && a.model.n_embd == b.model.n_embd &&
         a.model.n_head == b.model.n_head && a.model.block_size == b.model.block_size &&
         a.train.steps == b.train.steps && a.train.batch_size == b.train.batch_size;
}

}  // namespace

QString BaselineCandidate::label() const {
  return QStringLiteral("dense '%1' (run %2, %3 steps)%4")
      .arg(name)
      .arg(runId)
      .arg(steps)
      .arg(equalBudget ? QStringLiteral(", equal budget") : QString());
}

QVector<BaselineCandidate> dense_baselines(const QString& runLogPath, const ModelFacts& bank) {
  QVector<BaselineCandidate> out;
  if (bank.domains.empty() || !QFileInfo::exists(runLogPath)) return out;
  try {
    const RunLog log(runLogPath.toStdString());
    for (const RunSummary& run : log.list_runs()) {
      if (run.kind != "dense" || run.checkpoint_path.empty() || run.id == bank.run_id) continue;
      if (!QFileInfo::exists(QString::fromStdString(run.checkpoint_path))) continue;
      std::vector<std::string> names;
      for (const DomainRecord& d : log.domains(run.id)) names.push_back(d.name);
      if (names != bank.domains) continue;
      BaselineCandidate c;
      c.runId = run.id;
      c.name = QString::fromStdString(run.name);
      c.checkpoint = QString::fromStdString(run.checkpoint_path);
      c.steps = run.checkpoint_step.value_or(run.last_step);
      try {
        const RunConfig config = parse_run_config(log.get_run(run.id).config_json, runLogPath.toStdString());
        c.equalBudget = same_budget(config, bank.config) && c.steps == bank.step;
      } catch (const std::exception&) {
        c.equalBudget = false;  // a config this version cannot read: listed, not claimed equal
      }
      out.push_back(c);
    }
  } catch (const std::exception&) {
    return {};
  }
  std::stable_sort(out.begin(), out.end(), [](const BaselineCandidate& a, const BaselineCandidate& b) {
    if (a.equalBudget != b.equalBudget) return a.equalBudget;
    return a.runId > b.runId;
  });
  return out;
}

RunConfig dense_baseline_config(const RunConfig& soup, const std::string& soupName) {
  RunConfig c = soup;
  c.train.kind = ModelKind::kDense;
  c.bank.n_experts = 0;
  c.train.mixture.clear();
  c.train.dense_mixture = "fixed";
  c.train.init_from.clear();
  c.train.out_dir.clear();
  c.train.run_name = "dense baseline for " + (soupName.empty() ? std::string("a bank") : soupName);
  return c;
}

RunConfig dense_baseline_config(const ModelFacts& bank) {
  RunConfig soup = bank.config;
  if (!bank.corpus_dir.empty()) soup.train.corpus_dir = bank.corpus_dir;
  return dense_baseline_config(soup, bank.run_name);
}

}  // namespace souplab::gui
