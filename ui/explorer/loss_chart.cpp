#include "ui/explorer/loss_chart.h"

#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QSharedPointer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "ui/explorer/plot_style.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {

LossChart::LossChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot, 1);
  auto* pager = new QHBoxLayout;
  m_prev = new QToolButton(this);
  m_prev->setArrowType(Qt::LeftArrow);
  m_prev->setToolTip(tr("Previous domains"));
  m_next = new QToolButton(this);
  m_next->setArrowType(Qt::RightArrow);
  m_next->setToolTip(tr("Next domains"));
  m_pageLabel = new QLabel(this);
  m_pageLabel->setObjectName(QStringLiteral("chartPageLabel"));
  pager->addStretch(1);
  pager->addWidget(m_prev);
  pager->addWidget(m_pageLabel);
  pager->addWidget(m_next);
  pager->addStretch(1);
  layout->addLayout(pager);
  m_caption = new QLabel(this);
  m_caption->setObjectName(QStringLiteral("chartCaption"));
  m_caption->setWordWrap(true);
  m_caption->setStyleSheet(QStringLiteral("color: #555"));
  layout->addWidget(m_caption);
  connect(m_prev, &QToolButton::clicked, this, [this] { setPage(m_page - 1); });
  connect(m_next, &QToolButton::clicked, this, [this] { setPage(m_page + 1); });
  m_plot->setObjectName(QStringLiteral("lossChart"));
  m_plot->setMinimumSize(320, 220);

  m_specialist = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  m_specialist->setName(tr("specialist at h"));
  m_specialist->setPen(QPen(QColor(31, 119, 180)));
  m_specialist->setBrush(QColor(31, 119, 180, 200));
  m_reference = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  m_reference->setName(tr("soup at uniform h"));
  m_reference->setPen(QPen(QColor(127, 127, 127)));
  m_reference->setBrush(QColor(127, 127, 127, 160));
  m_group = new QCPBarsGroup(m_plot);
  m_group->setSpacingType(QCPBarsGroup::stAbsolute);
  m_group->setSpacing(2);
  for (QCPBars* bars : {m_specialist, m_reference}) {
    bars->setWidth(0.38);
    bars->setBarsGroup(m_group);
  }

  m_errors = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
  m_errors->setDataPlottable(m_specialist);  // follows the bars' place in the group
  m_errors->setErrorType(QCPErrorBars::etValueError);
  m_errors->setPen(QPen(QColor(20, 20, 20), 1.2));
  m_errors->setWhiskerWidth(5);
  m_errors->removeFromLegend();

  m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
  m_plot->xAxis->setTickLabelRotation(45);
  m_plot->xAxis->setSubTicks(false);
  m_plot->xAxis->grid()->setVisible(false);
  m_plot->yAxis->setLabel(tr("validation loss (nats/byte)"));
  m_plot->legend->setFont(font());
  legendAbovePlot(m_plot);
  rescale();
}

void LossChart::setDomains(const QStringList& names) {
  m_domains = names;
  m_view.clear();
  for (int i = 0; i < names.size(); ++i) m_view.push_back(i);
  // A bare exported specialist has no domain names; its single group of bars needs no label.
  m_specialistLosses.clear();
  m_referenceLosses.clear();
  m_se.clear();
  m_targetLabel.clear();  // a target's bars compare models of the previous bank
  m_caption->clear();
  redraw();
}

void LossChart::setView(const std::vector<int>& indices) {
  m_view.clear();
  for (int i : indices)
    if (i >= 0 && i < m_domains.size()) m_view.push_back(i);
  m_page = 0;
  redraw();
}

int LossChart::pageCapacity() const {
  // ~20 px per group of two bars and an upright label; the y axis and margins take ~90 px; a
  // target's group takes one place on every page.
  return std::max(4, (m_plot->width() - 90) / 20) - firstDomainKey();
}

int LossChart::pageCount() const {
  const int n = int(m_view.size()), per = pageCapacity();
  return std::max(1, (n + per - 1) / per);
}

std::vector<int> LossChart::pageDomains() const {
  const int per = pageCapacity(), first = std::min(int(m_view.size()), m_page * per);
  const int last = std::min(int(m_view.size()), first + per);
  return std::vector<int>(m_view.begin() + first, m_view.begin() + last);
}

void LossChart::setPage(int page) {
  const int clamped = std::clamp(page, 0, pageCount() - 1);
  if (clamped == m_page) return;
  m_page = clamped;
  redraw();
  replotNow();
}

void LossChart::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  m_page = std::min(m_page, pageCount() - 1);
  if (pageDomains() != m_drawn) {  // the new width holds more or fewer groups
    redraw();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
  }
}

void LossChart::setSpecialistLosses(const std::vector<double>& losses) {
  m_specialistLosses = losses;
  setBars(m_specialist, losses);
  setErrors();
  rescale();
}

void LossChart::setUncertainty(const std::vector<double>& se) {
  m_se = se;
  setErrors();
  rescale();
}

void LossChart::setCaption(const QString& text) { m_caption->setText(text); }

void LossChart::setTarget(const QString& label, double specialist, double reference) {
  const bool placesChange = label.isEmpty() != m_targetLabel.isEmpty();
  m_targetLabel = label;
  m_targetSpecialist = specialist;
  m_targetReference = reference;
  if (placesChange) m_page = std::min(m_page, pageCount() - 1);
  redraw();
}

QString LossChart::caption() const { return m_caption->text(); }

void LossChart::setErrors() {
  // One entry per specialist bar, in the bars' order (QCPErrorBars pairs them by index).
  QVector<double> errors;
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  if (!m_targetLabel.isEmpty() && std::isfinite(m_targetSpecialist)) errors << nan;  // the target's bar, key 0
  for (const auto& [key, i] : barsOf(m_specialistLosses)) errors << (i < m_se.size() ? m_se[i] : nan);
  m_errors->setData(errors);
}

void LossChart::setReferenceLosses(const std::vector<double>& losses, const QString& label) {
  m_reference->setName(label);
  m_referenceLosses = losses;
  setBars(m_reference, losses);
  rescale();
}

void LossChart::redraw() {
  const std::vector<int> shown = pageDomains();
  const bool changed = shown != m_drawn;
  m_drawn = shown;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  if (!m_targetLabel.isEmpty()) ticker->addTick(0, tr("▸ %1 (target)").arg(m_targetLabel));
  for (size_t p = 0; p < shown.size(); ++p) ticker->addTick(double(p + size_t(firstDomainKey())), m_domains[shown[p]]);
  m_plot->xAxis->setTicker(ticker);
  const int pages = pageCount();
  for (QWidget* w : std::initializer_list<QWidget*>{m_prev, m_next, m_pageLabel}) w->setVisible(pages > 1);
  if (pages > 1) {
    const int first = m_page * pageCapacity();
    m_pageLabel->setText(tr("domains %1–%2 of %3").arg(first + 1).arg(first + int(shown.size())).arg(m_view.size()));
    m_prev->setEnabled(m_page > 0);
    m_next->setEnabled(m_page + 1 < pages);
  }
  // 45° fits a dozen long names; beyond two dozen only upright-turned labels keep apart.
  const bool upright = shown.size() > 24;
  m_plot->xAxis->setTickLabelRotation(upright ? 90 : 45);
  // A 45° label runs right of its tick, and QCustomPlot drops a tick label that would leave the
  // widget: keep room on the right for the last labels (the last domain's name went missing).
  int right = 8;
  if (!upright) {
    const QFontMetrics metrics(m_plot->xAxis->tickLabelFont());
    for (size_t p = shown.size() >= 3 ? shown.size() - 3 : 0; p < shown.size(); ++p)
      right = std::max(right, int(0.72 * metrics.horizontalAdvance(m_domains[shown[p]])) -
                                  int(shown.size() - 1 - p) * 30);
  }
  m_plot->axisRect()->setAutoMargins(QCP::msLeft | QCP::msTop | QCP::msBottom);
  m_plot->axisRect()->setMargins(QMargins(0, 0, right, 0));
  setBars(m_specialist, m_specialistLosses);
  setBars(m_reference, m_referenceLosses);
  setErrors();
  rescale();
  if (changed) Q_EMIT drawnDomainsChanged(m_drawn);
}

// Bar p shows domain m_drawn[p]; without domain names (a bare export) bar i is loss i.
std::vector<std::pair<double, size_t>> LossChart::barsOf(const std::vector<double>& losses) const {
  std::vector<std::pair<double, size_t>> out;  // (key on the x axis, index into losses)
  if (m_domains.isEmpty()) {
    for (size_t i = 0; i < losses.size(); ++i) out.emplace_back(double(i), i);
  } else {
    for (size_t p = 0; p < m_drawn.size(); ++p) {
      const auto d = size_t(m_drawn[p]);
      // NaN: not evaluated (the quick tier covers the domains on screen only when there are many).
      if (d < losses.size() && !std::isnan(losses[d])) out.emplace_back(double(p + size_t(firstDomainKey())), d);
    }
  }
  return out;
}

void LossChart::setBars(QCPBars* bars, const std::vector<double>& losses) {
  QVector<double> keys, values;
  const double target = bars == m_specialist ? m_targetSpecialist : m_targetReference;
  if (!m_targetLabel.isEmpty() && std::isfinite(target)) {
    keys << 0;
    values << target;
  }
  for (const auto& [key, i] : barsOf(losses)) {
    keys << key;
    values << losses[i];
  }
  bars->setData(keys, values, /*alreadySorted=*/true);
}

void LossChart::rescale() {
  const int n = std::max<int>(1, int(std::max<size_t>(m_specialist->data()->size(),
                                                      m_reference->data()->size())));
  const double shown = m_domains.isEmpty() ? double(n) : double(std::max<size_t>(1, m_drawn.size() + size_t(firstDomainKey())));
  m_plot->xAxis->setRange(-0.6, shown - 0.4);
  double top = 0;
  for (QCPBars* bars : {m_specialist, m_reference})
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
      if (std::isfinite(it->value)) top = std::max(top, it->value);
  // Losses start at 0 so that bar heights compare.
  m_plot->yAxis->setRange(0, top > 0 ? top * 1.08 : 1.0);
}

void LossChart::replotNow() { m_plot->replot(QCustomPlot::rpImmediateRefresh); }

}  // namespace souplab::gui
