#pragma once
// A QCustomPlot of loss curves keyed by name. Every raw point is stored (MetricSeries); what is
// drawn is the smoothed, min/max-decimated view of the visible range, recomputed at most once
// per 50 ms however many points arrive (PlotJuggler's single-shot replot timer).
// Legend click toggles a series. Used by the training monitor and the run browser's overlays.
#include <QColor>
#include <QHash>
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include "app/glue/metric_series.h"

class QCustomPlot;
class QCPGraph;
class QCPLegend;
class QCPAbstractLegendItem;
class QMouseEvent;

namespace souplab::gui {

class LossPlot : public QWidget {
  Q_OBJECT
 public:
  explicit LossPlot(const QString& title, QWidget* parent = nullptr);
  // A qualitative palette (Tableau 10) so that domain i has the same colour in every plot.
  static QColor colorFor(int index);

  // Adds a series (no-op if `key` exists). `label` is shown in the legend and the CSV.
  void addSeries(const QString& key, const QString& label, const QColor& color,
                 Qt::PenStyle style = Qt::SolidLine);
  bool hasSeries(const QString& key) const { return m_series.contains(key); }
  void append(const QString& key, double x, double y);
  void clear();  // removes every series
  void setSeriesVisible(const QString& key, bool visible);
  bool isSeriesVisible(const QString& key) const;

  void setSmoothing(double weight);  // debiased EMA weight in [0, 1)
  void setLogScale(bool on);
  void setAxisLabels(const QString& x, const QString& y);
  // Moves the legend beside the axes: with a dozen curves, inside it would hide them.
  void placeLegendOutside();

  int seriesCount() const { return m_order.size(); }
  int graphCount() const;           // graphs in the QCustomPlot (one per series)
  int pointCount(const QString& key) const;   // raw points stored
  int drawnPointCount(const QString& key) const;  // points handed to the graph after decimation
  QStringList seriesKeys() const { return m_order; }
  QCustomPlot* plot() const { return m_plot; }

  // Long format, one row per stored (unsmoothed) point: "step,series,value" where series is the
  // legend label (quoted if it holds a comma). Returns false with *error set on failure.
  bool exportCsv(const QString& path, QString* error = nullptr) const;
  // PNG or PDF by the file's suffix (savePng / savePdf).
  bool exportImage(const QString& path, QString* error = nullptr) const;

 public Q_SLOTS:
  void replotNow();  // recomputes views and replots immediately (tests, exports)
  void resetView();  // follow the data again after the user zoomed or dragged

 private:
  struct Series {
    QString label;
    MetricSeries data;
    QCPGraph* graph = nullptr;
    int drawn = 0;
  };
  void scheduleReplot();
  void onLegendClick(QCPLegend* legend, QCPAbstractLegendItem* item, QMouseEvent* event);

  QCustomPlot* m_plot = nullptr;
  QHash<QString, Series> m_series;
  QStringList m_order;
  QTimer m_replotTimer;
  double m_smoothing = 0;
  bool m_logScale = false;
  bool m_followData = true;  // rescale to the data on each replot until the user zooms
};

}  // namespace souplab::gui
