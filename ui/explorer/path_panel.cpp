#include "ui/explorer/path_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "app/glue/explorer_session.h"
#include "ui/explorer/plot_export.h"
#include "ui/explorer/plot_style.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {
namespace {

// "60 % code_c, 30 % prose, …": the largest weights of h, for the caption.
QString describe(const std::vector<double>& h, const QStringList& names) {
  std::vector<size_t> order(h.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h[a] > h[b]; });
  QStringList parts;
  for (size_t i = 0; i < order.size() && parts.size() < 3 && h[order[i]] >= 0.005; ++i)
    parts << QStringLiteral("%1 % %2").arg(100 * h[order[i]], 0, 'f', 0).arg(order[i] < size_t(names.size()) ? names[int(order[i])] : QString::number(order[i]));
  if (order.size() > 3 && parts.size() == 3) parts << QStringLiteral("…");
  return parts.join(QStringLiteral(", "));
}

// The loss the curve shows: one domain's, or the mean over domains (-1).
double shown(const std::vector<double>& perDomain, int domain) {
  if (perDomain.empty()) return std::nan("");
  if (domain >= 0) return size_t(domain) < perDomain.size() ? perDomain[size_t(domain)] : std::nan("");
  return std::accumulate(perDomain.begin(), perDomain.end(), 0.0) / double(perDomain.size());
}

}  // namespace

PathPanel::PathPanel(ExplorerSession* session, QWidget* parent) : QWidget(parent), m_session(session) {
  m_pin = new QPushButton(tr("Pin as A"), this);
  m_pin->setObjectName(QStringLiteral("pathPin"));
  m_pin->setCheckable(true);
  m_pin->setToolTip(tr("Pin the specialist on the sliders as the start of the path, then move the sliders: "
                       "the curves show the loss on the way from A to where the sliders are"));
  m_points = new QSpinBox(this);
  m_points->setObjectName(QStringLiteral("pathPoints"));
  m_points->setRange(2, 32);
  m_points->setValue(8);
  m_points->setPrefix(tr("steps "));
  m_points->setToolTip(tr("Steps between A and B (each costs two evaluations)"));
  m_domain = new QComboBox(this);
  m_domain->setObjectName(QStringLiteral("pathDomain"));
  m_domain->setToolTip(tr("The loss drawn: the mean over domains, or one domain's"));
  m_export = new QPushButton(tr("Export…"), this);
  m_export->setObjectName(QStringLiteral("pathExport"));
  m_export->setToolTip(tr("Save the curves of every domain as CSV, or the plot as PNG or PDF"));
  m_export->setEnabled(false);
  m_caption = new QLabel(tr("Pin a specialist as A, then move the sliders to B."), this);
  m_caption->setObjectName(QStringLiteral("pathCaption"));
  m_caption->setWordWrap(true);

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("pathPlot"));
  m_plot->setMinimumSize(240, 150);
  m_plot->xAxis->setLabel(tr("t: from A (0) to B (1)"));
  m_plot->yAxis->setLabel(tr("loss (nats/byte)"));
  m_plot->xAxis->setRange(0, 1);
  m_plot->legend->setFont(QFont(m_plot->font().family(), 8));
  legendAbovePlot(m_plot);
  const auto graph = [&](const QString& name, const QColor& color, Qt::PenStyle style) {
    QCPGraph* g = m_plot->addGraph();
    g->setName(name);
    g->setPen(QPen(color, 2, style));
    g->setScatterStyle(QCPScatterStyle(style == Qt::SolidLine ? QCPScatterStyle::ssDisc : QCPScatterStyle::ssNone, 5));
    return g;
  };
  m_alongH = graph(tr("along h (a specialist at each point)"), QColor(31, 119, 180), Qt::SolidLine);
  m_alongWeights = graph(tr("along the weights (linear merge of A and B)"), QColor(255, 127, 14), Qt::SolidLine);
  m_reference = graph(tr("reference"), QColor(110, 110, 110), Qt::DashLine);

  auto* controls = new QHBoxLayout;
  controls->addWidget(m_pin);
  controls->addWidget(m_points);
  controls->addWidget(m_domain, 1);
  controls->addWidget(m_export);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(m_caption);
  layout->addWidget(m_plot, 1);

  connect(m_pin, &QPushButton::toggled, this, [this](bool on) {
    if (on && !pinCurrent()) m_pin->setChecked(false);
    if (!on) unpin();
  });
  connect(m_points, &QSpinBox::valueChanged, this, [this] {
    m_hB.clear();  // the same ends at another resolution
    traceIfWanted();
  });
  connect(m_domain, &QComboBox::currentIndexChanged, this, [this] { render(); });
  connect(m_export, &QPushButton::clicked, this, &PathPanel::exportDialog);
  connect(m_session, &ExplorerSession::pathReady, this, &PathPanel::onPath);
}

void PathPanel::setDomains(const QStringList& domains) {
  m_domains = domains;
  unpin();
  const QSignalBlocker block(m_domain);
  m_domain->clear();
  m_domain->addItem(tr("mean over domains"), -1);
  for (int d = 0; d < domains.size(); ++d) m_domain->addItem(domains[d], d);
}

void PathPanel::setShownDomain(int domain) { m_domain->setCurrentIndex(std::max(0, m_domain->findData(domain))); }

void PathPanel::showFrame(const FramePtr& frame) {
  m_referenceLabel = frame->referenceLabel;
  // The full tier's specialist is where the sliders rest; quick frames pass on the way.
  if (frame->change != ExplorerFrame::Change::kSpecialist || frame->tier != ExplorerFrame::Tier::kFull) return;
  m_shownH = frame->h;
  traceIfWanted();
}

bool PathPanel::pinCurrent() {
  if (m_shownH.empty()) return false;
  m_hA = m_shownH;
  m_hB.clear();
  m_requestId = 0;  // a path traced from the old A is not shown
  m_inFlight = false;
  m_path = {};
  {
    const QSignalBlocker block(m_pin);
    m_pin->setChecked(true);
  }
  m_caption->setText(tr("A: %1. Move the sliders to B.").arg(describe(m_hA, m_domains)));
  render();
  return true;
}

void PathPanel::unpin() {
  m_hA.clear();
  m_requestId = 0;
  m_inFlight = false;
  m_hB.clear();
  m_path = {};
  {
    const QSignalBlocker block(m_pin);
    m_pin->setChecked(false);
  }
  m_caption->setText(tr("Pin a specialist as A, then move the sliders to B."));
  render();
}

void PathPanel::retrace() {
  m_requestId = 0;
  m_inFlight = false;
  m_hB.clear();
}

void PathPanel::traceIfWanted() {
  // One path in flight: when it lands, the newest h is traced if it moved meanwhile.
  if (m_hA.empty() || m_inFlight || m_shownH.empty() || m_shownH == m_hA || m_shownH == m_hB) return;
  m_hB = m_shownH;
  m_requestId = m_session->requestPath(m_hA, m_hB, m_points->value());
  m_inFlight = m_requestId != 0;
  if (m_inFlight) m_caption->setText(tr("Tracing A → B…"));
}

void PathPanel::onPath(const PathResult& path) {
  if (path.id != m_requestId) return;  // asked before a new pin or bank
  m_inFlight = false;
  if (!path.error.isEmpty()) {
    m_caption->setText(tr("The path could not be traced: %1").arg(path.error));
    return;  // the next move tries again
  }
  if (!m_hA.empty()) {
    m_path = path;
    m_caption->setText(tr("A: %1 → B: %2. Per-domain losses on %3 (%4 ms); both curves meet at the two specialists.")
                           .arg(describe(m_hA, m_domains), describe(m_hB, m_domains), path.windows)
                           .arg(path.ms, 0, 'f', 0));
    render();
    Q_EMIT pathShown();
  }
  traceIfWanted();
}

void PathPanel::render() {
  const int domain = m_domain->currentData().isValid() ? m_domain->currentData().toInt() : -1;
  QVector<double> t, h, w;
  for (const souplab::PathPoint& p : m_path.points) {
    t << p.t;
    h << shown(p.along_h, domain);
    w << shown(p.along_weights, domain);
  }
  m_alongH->setData(t, h, true);
  m_alongWeights->setData(t, w, true);
  const double level = shown(m_path.reference, domain);
  m_reference->setName(tr("reference: %1").arg(m_referenceLabel.isEmpty() ? tr("none") : m_referenceLabel));
  if (!t.isEmpty() && std::isfinite(level))
    m_reference->setData(QVector<double>{0.0, 1.0}, QVector<double>{level, level}, true);
  else
    m_reference->data()->clear();
  m_export->setEnabled(!m_path.points.empty());
  bool found = false;
  const QCPRange range = m_alongH->getValueRange(found);
  if (found) {
    QCPRange all = range;
    all.expand(m_alongWeights->getValueRange(found));
    if (std::isfinite(level)) all.expand(level);
    const double pad = 0.08 * std::max(all.size(), 1e-3);
    m_plot->yAxis->setRange(all.lower - pad, all.upper + pad);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool PathPanel::exportTo(const QString& path, QString* error) const {
  if (m_path.points.empty()) {
    if (error) *error = tr("%1: nothing to export yet (pin A, then move the sliders)").arg(path);
    return false;
  }
  return exportTableOrImage(path, error, m_plot, m_plot->rect(), [&] {
    // One row per point and domain, both ways; the reference's per domain at t = "reference".
    std::string csv = "t,domain,along_h,along_weights\n";
    const auto name = [&](size_t d) {
      return d < size_t(m_domains.size()) ? m_domains[int(d)].toStdString() : std::to_string(d);
    };
    for (const souplab::PathPoint& p : m_path.points)
      for (size_t d = 0; d < p.along_h.size(); ++d)
        csv += std::to_string(p.t) + ',' + name(d) + ',' + std::to_string(p.along_h[d]) + ',' +
               std::to_string(p.along_weights.at(d)) + '\n';
    for (size_t d = 0; d < m_path.reference.size(); ++d)
      csv += "reference," + name(d) + ',' + std::to_string(m_path.reference[d]) + ',' +
             std::to_string(m_path.reference[d]) + '\n';
    return csv;
  });
}

void PathPanel::exportDialog() {
  exportWithDialog(this, tr("Export the path"), QStringLiteral("path.csv"),
                   [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace souplab::gui
