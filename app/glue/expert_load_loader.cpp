#include "app/glue/expert_load_loader.h"

#include <algorithm>
#include <map>
#include <set>

#include "souplab/error.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"

namespace souplab {

ExpertLoadTable read_expert_load(const std::string& run_log_path, int64_t run_id) {
  RunLog log(run_log_path);
  ExpertLoadTable t;
  t.run_id = run_id;
  for (const auto& d : log.domains(run_id)) t.domains.push_back(d.name);
  const std::vector<Metric> rows = log.metrics(run_id);
  for (const Metric& m : rows) {
    if (m.split == metric_key::kTrain && m.name == metric_key::kDroppedFrac) t.train_dropped = m.value;
    if (m.split == metric_key::kVal && m.name.rfind(metric_key::kExpertLoadPrefix, 0) == 0) t.step = std::max(t.step, m.step);
  }
  if (t.step < 0) return t;
  // "expert_load/L<l>/E<e>": collect the layers and experts present at that step.
  std::map<std::pair<std::string, std::pair<int, int>>, double> value;
  std::set<int> layers;
  int experts = 0;
  std::map<std::string, double> dropped;
  for (const Metric& m : rows) {
    if (m.split != metric_key::kVal || m.step != t.step) continue;
    if (m.name == "dropped_frac") dropped[m.domain] = m.value;
    if (m.name.rfind("expert_load/L", 0) != 0) continue;
    const size_t slash = m.name.find("/E", 13);
    if (slash == std::string::npos) continue;
    const int l = std::stoi(m.name.substr(13, slash - 13)), e = std::stoi(m.name.substr(slash + 2));
    layers.insert(l);
    experts = std::max(experts, e + 1);
    value[{m.domain, {l, e}}] = m.value;
  }
  t.layers.assign(layers.begin(), layers.end());
  t.n_experts = experts;
  if (t.domains.empty())  // an old log without domain rows: take them from the metrics
    for (const auto& [key, v] : value)
      if (std::find(t.domains.begin(), t.domains.end(), key.first) == t.domains.end())
        t.domains.push_back(key.first);
  for (const std::string& d : t.domains) {
    std::vector<double> row(t.layers.size() * size_t(experts), 0.0);
    for (size_t i = 0; i < t.layers.size(); ++i)
      for (int e = 0; e < experts; ++e) {
        auto it = value.find({d, {t.layers[i], e}});
        if (it != value.end()) row[i * size_t(experts) + size_t(e)] = it->second;
      }
    t.load.push_back(std::move(row));
    t.dropped.push_back(dropped.count(d) ? dropped[d] : 0.0);
  }
  return t;
}

}  // namespace souplab

namespace souplab::gui {

ExpertLoadLoader::ExpertLoadLoader(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<souplab::ExpertLoadTable>("souplab::ExpertLoadTable");
}

void ExpertLoadLoader::load(const QString& runLogPath, qint64 runId) {
  supersede(QStringLiteral("souplab-expert-load"), [this, runLogPath, runId](const Post& post, const std::atomic<bool>&) {
    try {
      const ExpertLoadTable table = read_expert_load(runLogPath.toStdString(), runId);
      post([this, table] {
        markDone();
        Q_EMIT loaded(table);
      });
    } catch (const std::exception& e) {
      const QString message = QString::fromStdString(e.what());
      post([this, runId, message] {
        markDone();
        Q_EMIT loadFailed(runId, message);
      });
    }
  });
}

}  // namespace souplab::gui
