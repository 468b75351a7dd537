#include "ui/explorer/landscape_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>

#include "app/glue/explorer_session.h"
#include "souplab/validation_set.h"
#include "ui/explorer/plot_export.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {
namespace {

constexpr double kHeight = 0.86602540378443865;  // sqrt(3) / 2: the triangle's height
constexpr int kMapWidth = 160, kMapHeight = 139;  // raster cells over [0, 1] x [0, kHeight]

QCPGraph* markGraph(QCustomPlot* plot, const QString& name, QCPScatterStyle::ScatterShape shape, const QColor& fill) {
  QCPGraph* g = plot->addGraph();
  g->setName(name);
  g->setLineStyle(QCPGraph::lsNone);
  g->setScatterStyle(QCPScatterStyle(shape, QPen(Qt::black, 1.5), QBrush(fill), 11));
  return g;
}

}  // namespace

QPointF LandscapePanel::toPlane(const std::array<double, 3>& s) { return {s[1] + 0.5 * s[2], kHeight * s[2]}; }

std::array<double, 3> LandscapePanel::toShares(const QPointF& p) {
  const double s2 = p.y() / kHeight, s1 = p.x() - 0.5 * s2;
  return {1 - s1 - s2, s1, s2};
}

LandscapePanel::LandscapePanel(ExplorerSession* session, QWidget* parent)
    : QWidget(parent), m_session(session), m_worker(new LandscapeWorker(this)) {
  auto* controls = new QHBoxLayout;
  for (int c = 0; c < 3; ++c) {
    m_corner[c] = new QComboBox(this);
    m_corner[c]->setObjectName(QStringLiteral("landscapeCorner%1").arg(c));
    m_corner[c]->setToolTip(tr("A corner of the triangle: all of the three domains' joint weight on this domain"));
    controls->addWidget(m_corner[c], 1);
    connect(m_corner[c], &QComboBox::activated, this, [this] {
      setCorners({m_corner[0]->currentIndex(), m_corner[1]->currentIndex(), m_corner[2]->currentIndex()});
    });
  }
  m_targetBox = new QComboBox(this);
  m_targetBox->setObjectName(QStringLiteral("landscapeTarget"));
  m_targetBox->setToolTip(tr("The loss the colours show: on one domain, on h's own mixture, or on the target text"));
  controls->addWidget(new QLabel(tr("loss on"), this));
  controls->addWidget(m_targetBox, 1);
  connect(m_targetBox, &QComboBox::activated, this, [this] { setTarget(m_targetBox->currentData().toInt()); });
  m_export = new QPushButton(tr("Export…"), this);
  m_export->setObjectName(QStringLiteral("landscapeExport"));
  m_export->setToolTip(tr("Save the finest grid as CSV, or the map as PNG or PDF"));
  m_export->setEnabled(false);
  controls->addWidget(m_export);
  connect(m_export, &QPushButton::clicked, this, &LandscapePanel::exportDialog);
  m_caption = new QLabel(tr("Open a bank to see the loss over three domains' weights."), this);
  m_caption->setObjectName(QStringLiteral("landscapeCaption"));
  m_caption->setWordWrap(true);

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("landscapePlot"));
  m_plot->setMinimumSize(240, 180);
  for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) axis->setVisible(false);
  m_plot->xAxis->setRange(-0.12, 1.12);
  m_plot->yAxis->setRange(-0.1, kHeight + 0.1);
  m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
  m_map->setName(tr("loss"));
  m_map->data()->setSize(kMapWidth, kMapHeight);
  m_map->data()->setRange(QCPRange(0, 1), QCPRange(0, kHeight));
  m_map->setGradient(QCPColorGradient::gpThermal);
  m_map->setInterpolate(true);
  m_map->removeFromLegend();
  auto* scale = new QCPColorScale(m_plot);
  scale->setLabel(tr("loss (nats/byte)"));
  m_plot->plotLayout()->addElement(0, 1, scale);
  m_map->setColorScale(scale);
  auto* outline = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
  outline->setData(QVector<double>{0, 1, 0.5, 0}, QVector<double>{0, 0, kHeight, 0});
  outline->setPen(QPen(Qt::black, 1));
  outline->removeFromLegend();
  m_hMark = markGraph(m_plot, tr("sliders' h"), QCPScatterStyle::ssCircle, Qt::white);
  m_histogramMark = markGraph(m_plot, tr("text's histogram h"), QCPScatterStyle::ssTriangle, QColor(120, 200, 255));
  m_fittedMark = markGraph(m_plot, tr("text's fitted h"), QCPScatterStyle::ssDiamond, QColor(120, 255, 120));
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(QFont(m_plot->font().family(), 8));
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  connect(m_plot, &QCustomPlot::mousePress, this, &LandscapePanel::onPlotClick);
  // Equal scales on both axes, so the triangle is equilateral whatever the panel's shape: after
  // each layout (the axis rect's size is known then, before anything is drawn).
  connect(m_plot, &QCustomPlot::afterLayout, this, [this] {
    const QRect area = m_plot->axisRect()->rect();
    if (area.width() <= 0 || area.height() <= 0) return;
    constexpr double kLow = -0.14, kHigh = kHeight + 0.1, kLeft = -0.14, kRight = 1.14;  // room for the names
    const double spanY = kHigh - kLow, spanX = kRight - kLeft, pixels = double(area.width()) / area.height();
    if (pixels > spanX / spanY) {  // wide: the height decides, the sides get the rest
      m_plot->yAxis->setRange(kLow, kHigh);
      m_plot->xAxis->setRange(0.5, spanY * pixels, Qt::AlignCenter);
    } else {
      m_plot->xAxis->setRange(kLeft, kRight);
      m_plot->yAxis->setRange(0.5 * (kLow + kHigh), spanX / pixels, Qt::AlignCenter);
    }
  });

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(m_caption);
  layout->addWidget(m_plot, 1);
  connect(m_worker, &LandscapeWorker::gridReady, this, &LandscapePanel::onGrid);
  connect(m_worker, &ThreadedJob::failed, this,
          [this](const QString& message) { m_caption->setText(tr("Landscape: %1").arg(message)); });
}

void LandscapePanel::setDomains(const QStringList& domains) {
  m_domains = domains;
  m_h.clear();
  m_base.clear();
  m_histogram.clear();
  m_fitted.clear();
  m_textLabel.clear();  // a new bank has no target text yet
  m_grid = {};
  ++m_request;  // a grid of the previous bank is not shown
  m_export->setEnabled(false);
  for (int c = 0; c < 3; ++c) {
    const QSignalBlocker block(m_corner[c]);
    m_corner[c]->clear();
    m_corner[c]->addItems(domains);
    m_corner[c]->setEnabled(domains.size() >= 3);
  }
  {
    const QSignalBlocker block(m_targetBox);
    m_targetBox->clear();
    m_targetBox->addItem(tr("h's mixture"), -1);
    m_targetBox->addItem(tr("the target text"), -2);
    for (int d = 0; d < domains.size(); ++d) m_targetBox->addItem(domains[d], d);
  }
  drawMap();  // empty until the new bank's grid lands
  drawMarks();
  if (domains.size() < 3) {
    m_caption->setText(tr("The landscape needs a bank of at least three domains."));
    return;
  }
  setCorners({0, 1, 2});
  setTarget(0);
}

void LandscapePanel::setCorners(const std::array<int, 3>& corners) {
  m_corners = corners;
  for (int c = 0; c < 3; ++c) {
    const QSignalBlocker block(m_corner[c]);
    m_corner[c]->setCurrentIndex(corners[size_t(c)]);
  }
  m_stale = true;
  recompute();
}

void LandscapePanel::refresh() {
  ++m_request;  // a grid of the old weights is not shown
  m_stale = true;
  recompute();
}

void LandscapePanel::setTarget(int target) {
  m_target = target;
  const QSignalBlocker block(m_targetBox);
  m_targetBox->setCurrentIndex(std::max(0, m_targetBox->findData(target)));
  m_stale = true;
  recompute();
}

void LandscapePanel::setEstimate(const std::vector<double>& h, bool fitted) {
  (fitted ? m_fitted : m_histogram) = h;
  drawMarks();
}

std::optional<std::array<double, 3>> LandscapePanel::sharesOf(const std::vector<double>& h) const {
  double joint = 0;
  for (int c : m_corners)
    if (size_t(c) < h.size()) joint += h[size_t(c)];
  if (joint <= 0) return std::nullopt;
  std::array<double, 3> s{};
  for (size_t c = 0; c < 3; ++c) s[c] = size_t(m_corners[c]) < h.size() ? h[size_t(m_corners[c])] / joint : 0;
  return s;
}

void LandscapePanel::showFrame(const FramePtr& frame) {
  if (frame->change == ExplorerFrame::Change::kTarget) {
    if (frame->targetLabel == m_textLabel) return;  // the same text, evaluated for another h
    m_textLabel = frame->targetLabel;
    if (m_target == -2) {
      m_stale = true;
      recompute();
    }
    return;
  }
  if (frame->change != ExplorerFrame::Change::kSpecialist || frame->tier != ExplorerFrame::Tier::kFull) return;
  m_h = frame->h;
  // The map depends on the other domains' weights and the three's joint weight (and on all of
  // h for h's mixture); a move within the triangle only moves the mark.
  const auto outside = [this](std::vector<double> h) {
    double joint = 0;
    for (int c : m_corners)
      if (size_t(c) < h.size()) {
        joint += h[size_t(c)];
        h[size_t(c)] = 0;
      }
    h.push_back(joint);
    return h;
  };
  const auto differ = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return true;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::abs(a[i] - b[i]) > 1e-9) return true;
    return false;
  };
  if (m_base.empty() || (m_target == -1 ? differ(m_base, m_h) : differ(outside(m_base), outside(m_h)))) m_stale = true;
  recompute();
  drawMarks();
}

void LandscapePanel::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  recompute();  // what changed while the tab was hidden
}

void LandscapePanel::recompute() {
  if (!m_stale || !isVisible() || m_domains.size() < 3) return;
  if (m_corners[0] == m_corners[1] || m_corners[0] == m_corners[2] || m_corners[1] == m_corners[2]) {
    m_caption->setText(tr("Choose three different domains."));
    return;
  }
  const auto model = m_session->bank();
  const ValidationSetPtr windows = m_session->service()->validation();
  if (!model || !windows) {
    m_caption->setText(tr("The landscape needs the bank's validation windows (its corpus)."));
    return;
  }
  LandscapeRequest r;
  r.model = model;
  r.base = m_h.empty() ? std::vector<double>(size_t(m_domains.size()), 1.0 / m_domains.size()) : m_h;
  for (size_t c = 0; c < 3; ++c) r.corners[c] = size_t(m_corners[c]);
  const int first = std::max(1, m_session->loadedBank().firstWindows);
  if (m_target == -2) {
    r.target = m_session->target();
    if (!r.target) {
      m_caption->setText(tr("No target text: choose one with \"Specialist for this text\"."));
      return;
    }
    r.maxWindows = 4;  // of its 16: a specialist per grid point
    r.targetLabel = m_textLabel.isEmpty() ? tr("the target text") : m_textLabel;
  } else {
    r.target = windows;
    r.maxWindows = first;
    if (m_target >= 0) {
      r.mixture.assign(size_t(m_domains.size()), 0.0);
      r.mixture[size_t(m_target)] = 1;
      r.targetLabel = m_domains[m_target];
    } else {
      r.mixture = r.base;
      r.targetLabel = tr("h's mixture");
    }
  }
  m_stale = false;
  m_base = r.base;
  const int perDomain = r.maxWindows > 0 ? std::min(r.maxWindows, r.target->windows(0)) : r.target->windows(0);
  m_windowsLabel = tr("%1 windows of %2 bytes per domain").arg(perDomain).arg(r.target->block_size());
  m_request = m_worker->start(r);
  m_targetLabel = r.targetLabel;
  m_caption->setText(tr("Computing the loss on %1 over %2 / %3 / %4…")
                         .arg(r.targetLabel, m_domains[m_corners[0]], m_domains[m_corners[1]], m_domains[m_corners[2]]));
}

void LandscapePanel::onGrid(const LandscapeGrid& grid) {
  if (grid.request != m_request) return;
  m_grid = grid;
  m_export->setEnabled(true);
  double best = 1e300;
  const souplab::LandscapePoint* bestPoint = nullptr;
  for (const auto& p : grid.points)
    if (p.loss < best) best = p.loss, bestPoint = &p;
  QString where;
  if (bestPoint)
    where = tr("lowest %1 at %2 % / %3 % / %4 %")
                .arg(best, 0, 'f', 4)
                .arg(100 * bestPoint->share[0], 0, 'f', 0)
                .arg(100 * bestPoint->share[1], 0, 'f', 0)
                .arg(100 * bestPoint->share[2], 0, 'f', 0);
  m_caption->setText(tr("Loss on %1 (%7), %2 steps per edge (%3 specialists, %4 s)%5; %6. Click to move the sliders there.")
                         .arg(m_targetLabel)
                         .arg(grid.resolution)
                         .arg(grid.points.size())
                         .arg(grid.ms / 1000, 0, 'f', 1)
                         .arg(grid.finest ? QString() : tr(", refining"))
                         .arg(where)
                         .arg(m_windowsLabel));
  drawMap();
  drawMarks();
  Q_EMIT gridShown(grid.resolution, grid.finest);
}

void LandscapePanel::drawMap() {
  QCPColorMapData* data = m_map->data();
  data->fill(0);
  data->fillAlpha(0);
  const int R = m_grid.resolution;
  if (R > 0 && !m_grid.points.empty()) {
    // The grid's points by (i, j) = (share 0, share 1) x R; linear inside each small triangle.
    std::map<std::pair<int, int>, double> at;
    for (const auto& p : m_grid.points)
      at[{int(std::lround(p.share[0] * R)), int(std::lround(p.share[1] * R))}] = p.loss;
    const auto L = [&](int i, int j) {
      const auto it = at.find({i, j});
      return it == at.end() ? std::nan("") : it->second;
    };
    for (int x = 0; x < kMapWidth; ++x)
      for (int y = 0; y < kMapHeight; ++y) {
        double key = 0, value = 0;
        data->cellToCoord(x, y, &key, &value);
        const std::array<double, 3> s = toShares({key, value});
        if (std::min({s[0], s[1], s[2]}) < -1e-9) continue;  // outside the triangle: transparent
        const double u = std::clamp(s[0], 0.0, 1.0) * R, v = std::clamp(s[1], 0.0, 1.0) * R;
        int i = std::min(int(u), R), j = std::min(int(v), R - i);
        const double fu = u - i, fv = v - j;
        double z = 0;
        if (i + j >= R) z = L(i, j);
        else if (fu + fv <= 1) z = L(i, j) * (1 - fu - fv) + L(i + 1, j) * fu + L(i, j + 1) * fv;
        else z = L(i + 1, j) * (1 - fv) + L(i, j + 1) * (1 - fu) + L(i + 1, j + 1) * (fu + fv - 1);
        if (!std::isfinite(z)) z = L(std::min(int(std::lround(u)), R), std::min(int(std::lround(v)), R - std::min(int(std::lround(u)), R)));
        if (!std::isfinite(z)) continue;
        data->setCell(x, y, z);
        data->setAlpha(x, y, 255);
      }
    // The colours span the grid's losses (transparent cells outside hold 0 and must not count).
    double lo = 1e300, hi = -1e300;
    for (const auto& p : m_grid.points) lo = std::min(lo, p.loss), hi = std::max(hi, p.loss);
    m_map->setDataRange(QCPRange(lo, std::max(hi, lo + 1e-6)));
  }
  // Corner names where the corners are.
  m_plot->clearItems();
  if (m_domains.size() >= 3) {
    const QPointF anchors[3] = {{-0.02, -0.05}, {1.02, -0.05}, {0.5, kHeight + 0.05}};
    for (int c = 0; c < 3; ++c) {
      auto* label = new QCPItemText(m_plot);
      label->position->setCoords(anchors[c].x(), anchors[c].y());
      label->setText(m_domains.value(m_corners[size_t(c)]));
      // Each name outward from its corner: left of the left one, right of the right one, above the top.
      label->setPositionAlignment(c == 2 ? (Qt::AlignHCenter | Qt::AlignBottom)
                                         : ((c == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop));
      label->setFont(QFont(m_plot->font().family(), 9, QFont::Bold));
    }
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LandscapePanel::drawMarks() {
  const auto mark = [this](QCPGraph* g, const std::vector<double>& h) {
    const auto s = h.empty() ? std::nullopt : sharesOf(h);
    if (!s) {
      g->data()->clear();
      return;
    }
    const QPointF p = toPlane(*s);
    g->setData(QVector<double>{p.x()}, QVector<double>{p.y()});
  };
  mark(m_hMark, m_h);
  mark(m_histogramMark, m_histogram);
  mark(m_fittedMark, m_fitted);
  for (QCPGraph* g : {m_hMark, m_histogramMark, m_fittedMark}) {  // the legend names what is drawn
    if (g->data()->isEmpty()) g->removeFromLegend();
    else g->addToLegend();
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LandscapePanel::pick(const std::array<double, 3>& shares) {
  if (m_domains.size() < 3) return;
  std::vector<double> h = m_h.empty() ? std::vector<double>(size_t(m_domains.size()), 1.0 / m_domains.size()) : m_h;
  double joint = 0;
  for (int c : m_corners) joint += h[size_t(c)];
  if (joint <= 0) {  // the three carry nothing in h: the triangle of the three alone
    std::fill(h.begin(), h.end(), 0.0);
    joint = 1;
  }
  for (size_t c = 0; c < 3; ++c) h[size_t(m_corners[c])] = joint * std::max(0.0, shares[c]);
  Q_EMIT weightsPicked(h, tr("landscape: %1 % %2, %3 % %4, %5 % %6")
                              .arg(100 * shares[0], 0, 'f', 0)
                              .arg(m_domains[m_corners[0]])
                              .arg(100 * shares[1], 0, 'f', 0)
                              .arg(m_domains[m_corners[1]])
                              .arg(100 * shares[2], 0, 'f', 0)
                              .arg(m_domains[m_corners[2]]));
}

void LandscapePanel::onPlotClick(QMouseEvent* event) {
  const QPointF p(m_plot->xAxis->pixelToCoord(event->position().x()), m_plot->yAxis->pixelToCoord(event->position().y()));
  const std::array<double, 3> s = toShares(p);
  if (std::min({s[0], s[1], s[2]}) < -0.02) return;  // outside the triangle
  pick({std::max(0.0, s[0]), std::max(0.0, s[1]), std::max(0.0, s[2])});
}

bool LandscapePanel::exportTo(const QString& path, QString* error) const {
  if (m_grid.points.empty()) {
    if (error) *error = tr("%1: nothing to export yet (no landscape computed)").arg(path);
    return false;
  }
  return exportTableOrImage(path, error, m_plot, m_plot->rect(), [&] {
    std::string csv;
    for (int c = 0; c < 3; ++c) csv += "share_" + m_domains.value(m_corners[size_t(c)]).toStdString() + ',';
    csv += "loss\n";
    for (const auto& p : m_grid.points)
      csv += std::to_string(p.share[0]) + ',' + std::to_string(p.share[1]) + ',' + std::to_string(p.share[2]) + ',' +
             std::to_string(p.loss) + '\n';
    return csv;
  });
}

void LandscapePanel::exportDialog() {
  exportWithDialog(this, tr("Export the landscape"), QStringLiteral("landscape.csv"),
                   [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace souplab::gui
