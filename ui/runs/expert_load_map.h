#pragma once
// The expert load of a MoE run as a heat map (docs/DESIGN.md §1.2): one row per domain, one column per
// (MoE block, expert), colour = the fraction of the domain's token assignments in that block
// that went to that expert, on the validation sets at the latest evaluation. Below it, the
// dropped-token fraction (assignments over capacity) per domain and in training. The rows are
// read from the run log off the GUI thread (ExpertLoadLoader).
#include <QWidget>

#include "app/glue/expert_load_loader.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QLabel;

namespace souplab::gui {

class ExpertLoadMap : public QWidget {
  Q_OBJECT
 public:
  explicit ExpertLoadMap(QWidget* parent = nullptr);

  // Reads run `runId` of the log (empty path: the default log) and shows it when read.
  void showRun(const QString& runLogPath, qint64 runId);
  void setTable(const souplab::ExpertLoadTable& table);
  const souplab::ExpertLoadTable& table() const { return m_table; }

  QCustomPlot* plot() const { return m_plot; }
  QCPColorMap* colorMap() const { return m_map; }
  QLabel* droppedLabel() const { return m_dropped; }

 Q_SIGNALS:
  void updated();  // after a table is drawn (or a read failed: see droppedLabel)

 private:
  ExpertLoadLoader* m_loader = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPColorMap* m_map = nullptr;
  QCPColorScale* m_scale = nullptr;
  QLabel* m_dropped = nullptr;
  souplab::ExpertLoadTable m_table;
};

}  // namespace souplab::gui
