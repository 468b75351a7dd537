#include "ui/explorer/inside_panel.h"

#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QPushButton>
#include <QSharedPointer>
#include <QVBoxLayout>
#include <exception>

#include "souplab/atomic_file.h"
#include "souplab/inspect.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {
namespace {

QCPBars* makeBars(QCustomPlot* plot, const QString& name, const QColor& color) {
  auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
  bars->setName(name);
  bars->setPen(QPen(color));
  bars->setBrush(QColor(color.red(), color.green(), color.blue(), 190));
  return bars;
}

QCustomPlot* makePlot(QWidget* parent, const QString& objectName, const QString& yLabel) {
  auto* plot = new QCustomPlot(parent);
  plot->setObjectName(objectName);
  plot->setMinimumSize(240, 150);
  plot->yAxis->setLabel(yLabel);
  plot->legend->setVisible(true);
  plot->legend->setFont(QFont(plot->font().family(), 8));
  return plot;
}

// Tick labels for keys 1..n.
void setTicks(QCustomPlot* plot, const QVector<QString>& labels) {
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int i = 0; i < labels.size(); ++i) ticker->addTick(i + 1, labels[i]);
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setRange(0.3, labels.size() + 0.7);
}

}  // namespace

InsidePanel::InsidePanel(QWidget* parent) : QWidget(parent) {
  m_formula = new QLabel(tr("Inside the soup: alpha(h) appears here once a soup bank's specialist is evaluated."), this);
  m_formula->setObjectName(QStringLiteral("formulaLabel"));
  m_formula->setWordWrap(true);
  m_formula->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_formula->setToolTip(tr("The specialist on the sliders is S plus these multiples of the experts"));
  m_export = new QPushButton(tr("Export…"), this);
  m_export->setObjectName(QStringLiteral("insideExport"));
  m_export->setToolTip(tr("Save the coefficients and distances as CSV, or the plots as PNG or PDF"));
  m_export->setEnabled(false);

  m_alphaPlot = makePlot(this, QStringLiteral("alphaPlot"), tr("alpha"));
  m_alpha = makeBars(m_alphaPlot, tr("alpha(h)"), QColor(31, 119, 180));
  m_alphaUniform = makeBars(m_alphaPlot, tr("alpha(uniform h)"), QColor(127, 127, 127));
  auto* group = new QCPBarsGroup(m_alphaPlot);
  for (QCPBars* bars : {m_alpha, m_alphaUniform}) {
    bars->setWidth(0.38);
    bars->setBarsGroup(group);
  }
  m_blockPlot = makePlot(this, QStringLiteral("blockDistancePlot"), tr("‖θh − θu‖ / ‖θu‖"));
  m_blocks = makeBars(m_blockPlot, tr("distance from the uniform-h specialist"), QColor(214, 39, 40));
  m_blocks->setWidth(0.6);

  auto* top = new QHBoxLayout;
  top->addWidget(m_formula, 1);
  top->addWidget(m_export);
  auto* plots = new QHBoxLayout;
  plots->addWidget(m_alphaPlot, 3);
  plots->addWidget(m_blockPlot, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addLayout(plots, 1);
  connect(m_export, &QPushButton::clicked, this, &InsidePanel::exportDialog);
}

QString InsidePanel::formula() const { return m_formula->text(); }

void InsidePanel::setInspection(std::shared_ptr<const souplab::SoupInspection> inspection) {
  if (inspection == m_inspection) return;
  m_inspection = std::move(inspection);
  m_export->setEnabled(m_inspection != nullptr);
  if (!m_inspection) {
    // The last numbers stay greyed until the next specialist's arrive: bars that blink on every
    // move would be harder to follow than bars that lag one evaluation.
    m_alphaPlot->setEnabled(false);
    m_blockPlot->setEnabled(false);
    return;
  }
  const souplab::SoupInspection& in = *m_inspection;
  m_alphaPlot->setEnabled(true);
  m_blockPlot->setEnabled(true);
  m_formula->setText(QString::fromStdString(souplab::soup_formula(in.alpha)));
  QVector<double> keys, alpha, uniform;
  QVector<QString> names;
  double lo = 0, hi = 0;
  for (size_t j = 0; j < in.alpha.size(); ++j) {
    keys << double(j + 1);
    alpha << in.alpha[j];
    uniform << (j < in.alpha_uniform.size() ? in.alpha_uniform[j] : 0.0);
    names << QStringLiteral("E%1").arg(j + 1);
    lo = std::min({lo, alpha.back(), uniform.back()});
    hi = std::max({hi, alpha.back(), uniform.back()});
  }
  m_alpha->setData(keys, alpha, true);
  m_alphaUniform->setData(keys, uniform, true);
  setTicks(m_alphaPlot, names);
  const double pad = 0.1 * std::max(hi - lo, 1e-6);
  m_alphaPlot->yAxis->setRange(lo - pad, hi + pad);
  m_alphaPlot->replot(QCustomPlot::rpQueuedReplot);

  QVector<double> blockKeys, distance;
  QVector<QString> blockNames;
  double most = 0;
  for (size_t b = 0; b < in.blocks.size(); ++b) {
    blockKeys << double(b + 1);
    distance << in.blocks[b].from_uniform;
    blockNames << QString::fromStdString(in.blocks[b].name);
    most = std::max(most, in.blocks[b].from_uniform);
  }
  m_blocks->setData(blockKeys, distance, true);
  setTicks(m_blockPlot, blockNames);
  m_blockPlot->yAxis->setRange(0, std::max(most * 1.15, 1e-6));
  m_blockPlot->replot(QCustomPlot::rpQueuedReplot);
}

bool InsidePanel::exportTo(const QString& path, QString* error) const {
  const auto fail = [&](const QString& why) {
    if (error) *error = tr("%1: %2").arg(path, why);
    return false;
  };
  if (!m_inspection) return fail(tr("nothing to export yet (no soup bank's specialist is evaluated)"));
  const souplab::SoupInspection& in = *m_inspection;
  const QString suffix = QFileInfo(path).suffix().toLower();
  try {
    if (suffix == QLatin1String("csv")) {
      // One table: the experts' coefficients, then every block's and tensor's distances.
      std::string csv = "kind,name,alpha_h,alpha_uniform,from_shared,from_uniform,numel\n";
      for (size_t j = 0; j < in.alpha.size(); ++j)
        csv += "expert,E" + std::to_string(j + 1) + ',' + std::to_string(in.alpha[j]) + ',' +
               std::to_string(in.alpha_uniform.at(j)) + ",,,\n";
      for (const auto* rows : {&in.blocks, &in.tensors})
        for (const souplab::ParamDistance& d : *rows)
          csv += std::string(rows == &in.blocks ? "block," : "tensor,") + d.name + ",,," +
                 std::to_string(d.from_shared) + ',' + std::to_string(d.from_uniform) + ',' + std::to_string(d.numel) + '\n';
      souplab::write_file_atomically(path.toStdString(), csv);
      return true;
    }
    // Both plots side by side, as on screen.
    const QWidget* plots = m_alphaPlot->parentWidget();
    const QRect area = m_alphaPlot->geometry().united(m_blockPlot->geometry());
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (suffix == QLatin1String("pdf")) {
      QPdfWriter pdf(&buffer);
      pdf.setPageSize(QPageSize(area.size(), QPageSize::Point));
      pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
      QPainter painter(&pdf);
      painter.scale(double(pdf.width()) / area.width(), double(pdf.height()) / area.height());
      const_cast<QWidget*>(plots)->render(&painter, QPoint(), QRegion(area));
    } else if (!const_cast<QWidget*>(plots)->grab(area).save(&buffer, "PNG")) {
      return fail(tr("could not encode the image"));
    }
    souplab::write_file_atomically(path.toStdString(), bytes.toStdString());
    return true;
  } catch (const std::exception& e) {  // write_file_atomically's message names the file
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
}

void InsidePanel::exportDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export inside the soup"), QStringLiteral("inside.csv"),
                                                    tr("CSV data (*.csv);;PNG image (*.png);;PDF (*.pdf)"));
  if (path.isEmpty()) return;
  QString error;
  if (!exportTo(path, &error)) QMessageBox::warning(this, tr("Export"), error);
}

}  // namespace souplab::gui
