#include "ui/runs/expert_load_map.h"

#include <QLabel>
#include <QVBoxLayout>

#include "ui/qcustomplot_include.h"

namespace souplab::gui {

ExpertLoadMap::ExpertLoadMap(QWidget* parent) : QWidget(parent) {
  m_loader = new ExpertLoadLoader(this);
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumHeight(220);
  m_plot->plotLayout()->insertRow(0);
  m_plot->plotLayout()->addElement(
      0, 0, new QCPTextElement(m_plot, tr("Expert load per domain (validation)"), QFont(font().family(), 10, QFont::Bold)));
  m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
  m_scale = new QCPColorScale(m_plot);
  m_plot->plotLayout()->addElement(1, 1, m_scale);
  m_scale->setType(QCPAxis::atRight);
  m_scale->axis()->setLabel(tr("fraction of assignments"));
  m_map->setColorScale(m_scale);
  m_map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
  m_map->setInterpolate(false);  // cells, not a smooth field
  // Margins of the colour scale follow the plot's, so both line up.
  auto* group = new QCPMarginGroup(m_plot);
  m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  m_plot->xAxis->setTickLabelRotation(60);
  m_plot->xAxis->setLabel(tr("MoE block · expert"));
  m_dropped = new QLabel(this);
  m_dropped->setWordWrap(true);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot, 1);
  layout->addWidget(m_dropped);
  connect(m_loader, &ExpertLoadLoader::loaded, this, &ExpertLoadMap::setTable);
  connect(m_loader, &ExpertLoadLoader::loadFailed, this, [this](qint64, const QString& message) {
    m_dropped->setText(message);
    Q_EMIT updated();
  });
}

void ExpertLoadMap::showRun(const QString& runLogPath, qint64 runId) {
  m_dropped->setText(tr("reading run %1…").arg(runId));
  m_loader->load(runLogPath, runId);
}

void ExpertLoadMap::setTable(const souplab::ExpertLoadTable& table) {
  m_table = table;
  const int rows = int(table.domains.size());
  const int cols = int(table.layers.size()) * table.n_experts;
  if (table.step < 0 || rows == 0 || cols == 0) {
    m_map->data()->clear();
    m_dropped->setText(tr("run %1 has no expert-load rows (not a MoE run, or not evaluated yet)")
                           .arg(table.run_id));
    m_plot->replot();
    Q_EMIT updated();
    return;
  }
  m_map->data()->setSize(cols, rows);
  m_map->data()->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));
  double top = 0;
  for (int d = 0; d < rows; ++d)
    for (int c = 0; c < cols; ++c) {
      m_map->data()->setCell(c, d, table.load[size_t(d)][size_t(c)]);
      top = std::max(top, table.load[size_t(d)][size_t(c)]);
    }
  // From 0, so an idle expert is visibly cold whatever the others do.
  m_map->setDataRange(QCPRange(0, std::max(top, 1e-6)));
  auto xTicks = QSharedPointer<QCPAxisTickerText>::create();
  for (int i = 0; i < int(table.layers.size()); ++i)
    for (int e = 0; e < table.n_experts; ++e)
      xTicks->addTick(i * table.n_experts + e,
                      QStringLiteral("L%1·E%2").arg(table.layers[size_t(i)]).arg(e));
  m_plot->xAxis->setTicker(xTicks);
  auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
  for (int d = 0; d < rows; ++d) yTicks->addTick(d, QString::fromStdString(table.domains[size_t(d)]));
  m_plot->yAxis->setTicker(yTicks);
  m_plot->xAxis->setRange(-0.5, cols - 0.5);
  m_plot->yAxis->setRange(-0.5, rows - 0.5);
  QStringList parts;
  for (int d = 0; d < rows; ++d)
    parts << QStringLiteral("%1 %2%").arg(QString::fromStdString(table.domains[size_t(d)]))
                 .arg(100.0 * table.dropped[size_t(d)], 0, 'f', 1);
  QString text = tr("Dropped assignments at step %1 (over capacity, residual only): %2")
                     .arg(table.step).arg(parts.join(QStringLiteral(", ")));
  if (table.train_dropped >= 0)
    text += tr("; in training %1%").arg(100.0 * table.train_dropped, 0, 'f', 1);
  m_dropped->setText(text);
  m_plot->replot();
  Q_EMIT updated();
}

}  // namespace souplab::gui
