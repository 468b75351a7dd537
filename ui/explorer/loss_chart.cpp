#include "ui/explorer/loss_chart.h"

#include <QSharedPointer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/qcustomplot_include.h"

namespace souplab::gui {

LossChart::LossChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setObjectName(QStringLiteral("lossChart"));
  m_plot->setMinimumSize(320, 220);

  m_specialist = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  m_specialist->setName(tr("specialist at h"));
  m_specialist->setPen(QPen(QColor(31, 119, 180)));
  m_specialist->setBrush(QColor(31, 119, 180, 200));
  m_reference = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  m_reference->setName(tr("generic (uniform h)"));
  m_reference->setPen(QPen(QColor(127, 127, 127)));
  m_reference->setBrush(QColor(127, 127, 127, 160));
  m_group = new QCPBarsGroup(m_plot);
  m_group->setSpacingType(QCPBarsGroup::stAbsolute);
  m_group->setSpacing(2);
  for (QCPBars* bars : {m_specialist, m_reference}) {
    bars->setWidth(0.38);
    bars->setBarsGroup(m_group);
  }

  m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
  m_plot->xAxis->setTickLabelRotation(45);
  m_plot->xAxis->setSubTicks(false);
  m_plot->xAxis->grid()->setVisible(false);
  m_plot->yAxis->setLabel(tr("validation loss (nats/byte)"));
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(font());
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  rescale();
}

void LossChart::setDomains(const QStringList& names) {
  m_domains = names;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int i = 0; i < names.size(); ++i) ticker->addTick(i, names[i]);
  m_plot->xAxis->setTicker(ticker);
  // A bare exported specialist has no domain names; its single group of bars needs no label.
  m_specialist->data()->clear();
  m_reference->data()->clear();
  rescale();
}

void LossChart::setSpecialistLosses(const std::vector<double>& losses) {
  setBars(m_specialist, losses);
}

void LossChart::setReferenceLosses(const std::vector<double>& losses, const QString& label) {
  m_reference->setName(label);
  setBars(m_reference, losses);
}

void LossChart::setBars(QCPBars* bars, const std::vector<double>& losses) {
  QVector<double> keys, values;
  for (size_t i = 0; i < losses.size(); ++i) {
    keys << double(i);
    values << losses[i];
  }
  bars->setData(keys, values, /*alreadySorted=*/true);
  rescale();
}

void LossChart::rescale() {
  const int n = std::max<int>(1, int(std::max<size_t>(m_specialist->data()->size(),
                                                      m_reference->data()->size())));
  m_plot->xAxis->setRange(-0.6, std::max<double>(n, m_domains.size()) - 0.4);
  double top = 0;
  for (QCPBars* bars : {m_specialist, m_reference})
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
      if (std::isfinite(it->value)) top = std::max(top, it->value);
  // Losses start at 0 so that bar heights compare; headroom for the legend.
  m_plot->yAxis->setRange(0, top > 0 ? top * 1.25 : 1.0);
}

void LossChart::replotNow() { m_plot->replot(QCustomPlot::rpImmediateRefresh); }

}  // namespace souplab::gui
