#include "ui/training/loss_plot.h"

#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QTextStream>
#include <QVBoxLayout>
#include "ui/qcustomplot_include.h"

#include <algorithm>
#include <iterator>
#include <limits>

namespace souplab::gui {

namespace {
QString csvField(const QString& text) {
  if (!text.contains(',') && !text.contains('"')) return text;
  return '"' + QString(text).replace('"', QStringLiteral("\"\"")) + '"';
}
}  // namespace

QColor LossPlot::colorFor(int index) {
  static const QRgb kPalette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                  0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  const int n = static_cast<int>(std::size(kPalette));
  return QColor(kPalette[((index % n) + n) % n]);
}

LossPlot::LossPlot(const QString& title, QWidget* parent) : QWidget(parent) {
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumSize(320, 220);
  m_plot->plotLayout()->insertRow(0);
  m_plot->plotLayout()->addElement(
      0, 0, new QCPTextElement(m_plot, title, QFont(font().family(), 10, QFont::Bold)));
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(QFont(font().family(), 8));
  m_plot->legend->setBrush(QColor(255, 255, 255, 200));
  m_plot->legend->setSelectableParts(QCPLegend::spItems);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectLegend);
  m_plot->xAxis->setLabel(tr("step"));
  m_plot->yAxis->setLabel(tr("loss (nats/byte)"));
  connect(m_plot, &QCustomPlot::legendClick, this, &LossPlot::onLegendClick);
  // Zooming or dragging means the user wants this view: stop following the data.
  connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_followData = false; });
  connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    if (e->buttons() != Qt::NoButton) m_followData = false;
  });
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, &LossPlot::resetView);
  m_plot->setToolTip(tr("Drag/wheel to zoom, double-click to follow the data again; "
                        "click a legend entry to hide or show its curve"));

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);

  m_replotTimer.setSingleShot(true);
  m_replotTimer.setInterval(50);
  connect(&m_replotTimer, &QTimer::timeout, this, &LossPlot::replotNow);
}

void LossPlot::addSeries(const QString& key, const QString& label, const QColor& color,
                         Qt::PenStyle style) {
  if (m_series.contains(key)) return;
  Series s;
  s.label = label;
  s.graph = m_plot->addGraph();
  s.graph->setName(label);
  QPen pen(color, style == Qt::SolidLine ? 1.8 : 1.4, style);
  s.graph->setPen(pen);
  s.graph->setAdaptiveSampling(false);  // our own decimation already keeps extremes
  m_series.insert(key, s);
  m_order << key;
  scheduleReplot();
}

void LossPlot::append(const QString& key, double x, double y) {
  auto it = m_series.find(key);
  if (it == m_series.end()) return;
  it->data.append(x, y);
  scheduleReplot();
}

void LossPlot::clear() {
  m_plot->clearGraphs();
  m_series.clear();
  m_order.clear();
  m_followData = true;
  scheduleReplot();
}

void LossPlot::setSeriesVisible(const QString& key, bool visible) {
  auto it = m_series.find(key);
  if (it == m_series.end()) return;
  it->graph->setVisible(visible);
  if (auto* item = m_plot->legend->itemWithPlottable(it->graph))
    item->setTextColor(visible ? Qt::black : Qt::gray);
  scheduleReplot();
}

bool LossPlot::isSeriesVisible(const QString& key) const {
  auto it = m_series.find(key);
  return it != m_series.end() && it->graph->visible();
}

void LossPlot::setSmoothing(double weight) {
  m_smoothing = std::clamp(weight, 0.0, 0.999);
  scheduleReplot();
}

void LossPlot::setLogScale(bool on) {
  m_logScale = on;
  if (on) {
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  } else {
    m_plot->yAxis->setScaleType(QCPAxis::stLinear);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
  m_followData = true;
  scheduleReplot();
}

void LossPlot::setAxisLabels(const QString& x, const QString& y) {
  m_plot->xAxis->setLabel(x);
  m_plot->yAxis->setLabel(y);
}

void LossPlot::placeLegendOutside() {
  auto* side = new QCPLayoutGrid;
  m_plot->axisRect()->insetLayout()->take(m_plot->legend);
  m_plot->plotLayout()->addElement(1, 1, side);
  side->addElement(0, 0, m_plot->legend);
  side->addElement(1, 0, new QCPLayoutElement(m_plot));  // pushes the legend to the top
  side->setRowStretchFactor(0, 0.01);
  m_plot->plotLayout()->setColumnStretchFactor(1, 0.01);
  m_plot->legend->setBorderPen(Qt::NoPen);
}

int LossPlot::graphCount() const { return m_plot->graphCount(); }

int LossPlot::pointCount(const QString& key) const {
  auto it = m_series.find(key);
  return it == m_series.end() ? 0 : static_cast<int>(it->data.size());
}

int LossPlot::drawnPointCount(const QString& key) const {
  auto it = m_series.find(key);
  return it == m_series.end() ? 0 : it->drawn;
}

void LossPlot::scheduleReplot() {
  if (!m_replotTimer.isActive()) m_replotTimer.start();
}

void LossPlot::resetView() {
  m_followData = true;
  replotNow();
}

void LossPlot::replotNow() {
  m_replotTimer.stop();
  double xMin = std::numeric_limits<double>::infinity();
  double xMax = -xMin;
  if (m_followData) {
    for (const Series& s : m_series) {
      if (s.data.empty()) continue;
      xMin = std::min(xMin, s.data.points().front().x);
      xMax = std::max(xMax, s.data.points().back().x);
    }
  } else {
    xMin = m_plot->xAxis->range().lower;
    xMax = m_plot->xAxis->range().upper;
  }
  // About one min/max pair per two pixels is as much as the eye can tell apart.
  const auto buckets = static_cast<std::size_t>(std::max(50, m_plot->width() / 2));
  for (Series& s : m_series) {
    std::vector<SeriesPoint> view;
    if (!s.data.empty()) view = s.data.view(m_smoothing, xMin, xMax, buckets);
    QVector<double> xs, ys;
    xs.reserve(static_cast<int>(view.size()));
    ys.reserve(static_cast<int>(view.size()));
    for (const SeriesPoint& p : view) {
      if (m_logScale && !(p.y > 0)) continue;  // a log axis cannot show zero or negative
      xs << p.x;
      ys << p.y;
    }
    s.drawn = xs.size();
    s.graph->setData(xs, ys, true);
  }
  if (m_followData && !m_series.isEmpty()) {
    m_plot->rescaleAxes(true);
    // Leave a margin so a flat curve does not sit on the frame.
    m_plot->yAxis->scaleRange(1.1, m_plot->yAxis->range().center());
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlot::onLegendClick(QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
  auto* plItem = qobject_cast<QCPPlottableLegendItem*>(item);
  if (!plItem) return;
  for (auto it = m_series.begin(); it != m_series.end(); ++it) {
    if (it->graph == plItem->plottable()) {
      setSeriesVisible(it.key(), !it->graph->visible());
      break;
    }
  }
  m_plot->deselectAll();
}

bool LossPlot::exportCsv(const QString& path, QString* error) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = tr("%1: cannot write: %2").arg(path, file.errorString());
    return false;
  }
  QTextStream out(&file);
  out << "step,series,value\n";
  for (const QString& key : m_order) {
    const Series& s = m_series[key];
    for (const SeriesPoint& p : s.data.points())
      out << QString::number(p.x, 'g', 12) << ',' << csvField(s.label) << ','
          << QString::number(p.y, 'g', 10) << '\n';
  }
  out.flush();
  if (file.error() != QFile::NoError) {
    if (error) *error = tr("%1: write failed: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

bool LossPlot::exportImage(const QString& path, QString* error) const {
  const QString suffix = QFileInfo(path).suffix().toLower();
  bool ok = false;
  if (suffix == QLatin1String("pdf"))
    ok = m_plot->savePdf(path, m_plot->width(), m_plot->height());
  else
    ok = m_plot->savePng(path, m_plot->width(), m_plot->height(), 2.0);
  if (!ok && error) *error = tr("%1: could not save the plot").arg(path);
  return ok;
}

}  // namespace souplab::gui
