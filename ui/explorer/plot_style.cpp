#include "ui/explorer/plot_style.h"

#include "ui/qcustomplot_include.h"

namespace souplab::gui {

void legendAbovePlot(QCustomPlot* plot) {
  plot->legend->setVisible(true);
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, plot->legend);
  plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot->legend->setBorderPen(Qt::NoPen);
  plot->plotLayout()->setRowStretchFactor(0, 0.001);
}

}  // namespace souplab::gui
