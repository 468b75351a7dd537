#pragma once
// Shared looks of the explorer's plots.
class QCustomPlot;

namespace souplab::gui {

// The legend in a row of its own above the plot, entries side by side: inside the axis rect it
// hides the bars or curves under it (the loss chart's once there were many bars; the inside and
// path plots at 1366x768).
void legendAbovePlot(QCustomPlot* plot);

}  // namespace souplab::gui
