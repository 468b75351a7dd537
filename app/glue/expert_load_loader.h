#pragma once
// A MoE run's expert load per domain and MoE block (what the heat map draws), read from the run
// log off the GUI thread: the val rows "expert_load/L<l>/E<e>" and "dropped_frac" of the
// latest evaluated step, and the latest train "dropped_frac". The latest request wins.
#include <QObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/glue/threaded_job.h"

namespace souplab {

struct ExpertLoadTable {
  int64_t run_id = 0;
  int64_t step = -1;                    // the evaluated step read; -1 = no expert-load rows
  std::vector<std::string> domains;     // rows, in the run's domain order
  std::vector<int> layers;              // MoE block indices, ascending
  int n_experts = 0;
  // load[d][i * n_experts + e]: fraction of domain d's assignments in block layers[i] to e.
  std::vector<std::vector<double>> load;
  std::vector<double> dropped;          // per domain, at the eval capacity factor
  double train_dropped = -1;            // latest train dropped_frac (-1 = none logged)
};

// Reads the table through a RunLog connection of the calling thread. Errors as souplab::Error.
ExpertLoadTable read_expert_load(const std::string& run_log_path, int64_t run_id);

}  // namespace souplab

Q_DECLARE_METATYPE(souplab::ExpertLoadTable)

namespace souplab::gui {

class ExpertLoadLoader : public ThreadedJob {
  Q_OBJECT
 public:
  explicit ExpertLoadLoader(QObject* parent = nullptr);

  void load(const QString& runLogPath, qint64 runId);

 Q_SIGNALS:
  void loaded(const souplab::ExpertLoadTable& table);
  void loadFailed(qint64 runId, const QString& message);
};

}  // namespace souplab::gui
