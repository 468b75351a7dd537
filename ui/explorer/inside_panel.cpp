#include "ui/explorer/inside_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSharedPointer>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <string>
#include <vector>

#include "souplab/inspect.h"
#include "ui/explorer/plot_export.h"
#include "ui/explorer/plot_style.h"
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
  plot->legend->setFont(QFont(plot->font().family(), 8));
  legendAbovePlot(plot);
  return plot;
}

// A CSV field, quoted when it holds a comma, quote or line break (a merge input's path may).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + '"';
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
  m_formula = new QLabel(tr("Inside the model: alpha(h) (a soup), the router's load (a MoE), the chosen expert or a merge's weights appear here once a specialist is evaluated."), this);
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
  m_views = new QTabWidget(this);
  m_views->setObjectName(QStringLiteral("insideViews"));
  m_views->setDocumentMode(true);
  m_blockPlot = makePlot(m_views, QStringLiteral("blockDistancePlot"), tr("‖θh − θu‖ / ‖θu‖"));
  m_blocks = makeBars(m_blockPlot, tr("distance from the uniform-h specialist"), QColor(214, 39, 40));
  m_blocks->setWidth(0.6);
  m_views->addTab(m_blockPlot, tr("per block"));
  // Per weight matrix, sortable by any column (a click on its header): where h moves the model.
  m_tensorTable = new QTableWidget(0, 5, m_views);
  m_tensorTable->setObjectName(QStringLiteral("tensorTable"));
  m_tensorTable->setHorizontalHeaderLabels(
      {tr("tensor"), tr("block"), tr("parameters"), tr("‖θh − S‖ / ‖S‖"), tr("‖θh − θu‖ / ‖θu‖")});
  m_tensorTable->verticalHeader()->setVisible(false);
  m_tensorTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_tensorTable->setSortingEnabled(true);
  m_tensorTable->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  m_views->addTab(m_tensorTable, tr("per matrix"));
  // Which experts carry the specialist in which block: |alpha_j| ||E_j|| / ||S||.
  m_expertPlot = new QCustomPlot(m_views);
  m_expertPlot->setObjectName(QStringLiteral("expertBlockPlot"));
  m_expertPlot->setMinimumSize(240, 150);
  m_expertPlot->xAxis->setLabel(tr("expert"));
  m_expertPlot->yAxis->setLabel(tr("block"));
  m_expertMap = new QCPColorMap(m_expertPlot->xAxis, m_expertPlot->yAxis);
  m_expertMap->setGradient(QCPColorGradient::gpThermal);
  m_expertMap->setInterpolate(false);
  m_mapScale = new QCPColorScale(m_expertPlot);
  m_mapScale->setLabel(tr("|αj| ‖Ej‖ / ‖S‖"));
  m_expertPlot->plotLayout()->addElement(0, 1, m_mapScale);
  m_expertMap->setColorScale(m_mapScale);
  m_views->addTab(m_expertPlot, tr("experts × blocks"));

  auto* top = new QHBoxLayout;
  top->addWidget(m_formula, 1);
  top->addWidget(m_export);
  auto* plots = new QHBoxLayout;
  plots->addWidget(m_alphaPlot, 3);
  plots->addWidget(m_views, 2);
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
    m_views->setEnabled(false);
    return;
  }
  const souplab::SoupInspection& in = *m_inspection;
  m_alphaPlot->setEnabled(true);
  m_views->setEnabled(true);
  setDistanceViewsEnabled(true);
  m_alpha->setName(tr("alpha(h)"));
  m_alphaUniform->setVisible(true);
  m_alphaPlot->yAxis->setLabel(tr("alpha"));
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
  fillTensorTable(in);
  QVector<QString> expertNames;
  for (size_t j = 0; j < in.expert_blocks.size(); ++j) expertNames << QStringLiteral("E%1").arg(j + 1);
  drawMap(in.expert_blocks, expertNames, blockNames, tr("|αj| ‖Ej‖ / ‖S‖"));
}

void InsidePanel::setMixing(std::shared_ptr<const souplab::MixingRole> mixing) {
  if (mixing == m_mixing) return;
  m_mixing = std::move(mixing);
  if (m_inspection) return;  // a soup bank: its inspection is the richer view
  m_export->setEnabled(m_mixing != nullptr);
  if (!m_mixing) {
    m_alphaPlot->setEnabled(false);
    m_views->setEnabled(false);
    return;
  }
  showMixing(*m_mixing);
}

void InsidePanel::setDistanceViewsEnabled(bool enabled) {
  m_views->setTabEnabled(0, enabled);
  m_views->setTabEnabled(1, enabled);
  if (!enabled) m_views->setCurrentIndex(2);
}

void InsidePanel::showMixing(const souplab::MixingRole& r) {
  m_alphaPlot->setEnabled(!r.values.empty());
  m_views->setEnabled(r.values.size() > 1);
  setDistanceViewsEnabled(false);
  const QString role = QString::fromStdString(r.role);
  m_formula->setText(QString::fromStdString(r.formula) + QStringLiteral("\n") + QString::fromStdString(r.note));
  // Bars: the one row, or the mean over the rows (a MoE's blocks; the heat map has each).
  const size_t n = r.columns.size();
  QVector<double> keys, mean, none;
  QVector<QString> names;
  double hi = 0;
  for (size_t j = 0; j < n; ++j) {
    double sum = 0;
    for (const auto& row : r.values) sum += j < row.size() ? row[j] : 0.0;
    keys << double(j + 1);
    mean << (r.values.empty() ? 0.0 : sum / double(r.values.size()));
    hi = std::max(hi, mean.back());
    // Long names (a merge's input paths) become M1, M2, ...; the CSV has them whole.
    const QString name = QString::fromStdString(r.columns[j]);
    names << (name.size() > 14 ? QStringLiteral("M%1").arg(j + 1) : name);
  }
  m_alpha->setName(r.values.size() > 1 ? tr("%1, mean over %2 blocks").arg(role).arg(r.values.size()) : role);
  m_alpha->setData(keys, mean, true);
  m_alphaUniform->setData(none, none);
  m_alphaUniform->setVisible(false);
  m_alphaPlot->yAxis->setLabel(role);
  setTicks(m_alphaPlot, names);
  m_alphaPlot->yAxis->setRange(0, std::max(hi * 1.15, 1e-6));
  m_alphaPlot->replot(QCustomPlot::rpQueuedReplot);
  if (r.values.size() > 1) {
    std::vector<std::vector<double>> cells(n, std::vector<double>(r.values.size(), 0.0));  // [part][row]
    QVector<QString> rows;
    for (size_t b = 0; b < r.values.size(); ++b) {
      rows << QString::fromStdString(b < r.rows.size() ? r.rows[b] : std::to_string(b));
      for (size_t j = 0; j < n && j < r.values[b].size(); ++j) cells[j][b] = r.values[b][j];
    }
    drawMap(cells, names, rows, role);
  }
}

void InsidePanel::fillTensorTable(const souplab::SoupInspection& in) {
  // Numbers as numbers (DisplayRole doubles), so that a column sorts by value.
  const auto number = [](double v) {
    auto* item = new QTableWidgetItem;
    item->setData(Qt::DisplayRole, v);
    return item;
  };
  m_tensorTable->setSortingEnabled(false);  // rows keep their place while they are filled
  m_tensorTable->setRowCount(int(in.tensors.size()));
  for (int r = 0; r < int(in.tensors.size()); ++r) {
    const souplab::ParamDistance& d = in.tensors[size_t(r)];
    m_tensorTable->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(d.name)));
    m_tensorTable->setItem(r, 1, d.layer < 0 ? new QTableWidgetItem(tr("rest")) : number(d.layer));
    m_tensorTable->setItem(r, 2, number(double(d.numel)));
    m_tensorTable->setItem(r, 3, number(d.from_shared));
    m_tensorTable->setItem(r, 4, number(d.from_uniform));
  }
  m_tensorTable->setSortingEnabled(true);
}

void InsidePanel::drawMap(const std::vector<std::vector<double>>& cells, const QVector<QString>& xNames,
                          const QVector<QString>& yNames, const QString& scaleLabel) {
  const int experts = int(cells.size()), blocks = experts > 0 ? int(cells[0].size()) : 0;
  QCPColorMapData* data = m_expertMap->data();
  data->setSize(std::max(1, experts), std::max(1, blocks));
  data->setRange(QCPRange(1, std::max(1, experts)), QCPRange(1, std::max(1, blocks)));
  data->fill(0);
  for (int j = 0; j < experts; ++j)
    for (int b = 0; b < blocks; ++b) data->setCell(j, b, cells[size_t(j)][size_t(b)]);
  m_expertMap->rescaleDataRange(true);
  m_mapScale->setLabel(scaleLabel);
  setTicks(m_expertPlot, xNames);
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int b = 0; b < blocks && b < yNames.size(); ++b) ticker->addTick(b + 1, yNames[b]);
  m_expertPlot->yAxis->setTicker(ticker);
  m_expertPlot->yAxis->setRange(0.5, blocks + 0.5);
  m_expertPlot->xAxis->setRange(0.5, experts + 0.5);
  m_expertPlot->replot(QCustomPlot::rpQueuedReplot);
}

bool InsidePanel::exportTo(const QString& path, QString* error) const {
  const QRect shown = m_alphaPlot->geometry().united(m_views->geometry());
  if (!m_inspection && m_mixing) {
    const souplab::MixingRole& r = *m_mixing;
    return exportTableOrImage(path, error, m_alphaPlot->parentWidget(), shown, [&] {
      // One row per number: what it is (the role), the row (a block, "weight", ...), the part.
      std::string csv = "role,row,part,value\n";
      for (size_t b = 0; b < r.values.size(); ++b)
        for (size_t j = 0; j < r.values[b].size() && j < r.columns.size(); ++j)
          csv += csv_field(r.role) + ',' + csv_field(b < r.rows.size() ? r.rows[b] : "") + ',' +
                 csv_field(r.columns[j]) + ',' + std::to_string(r.values[b][j]) + '\n';
      return csv;
    });
  }
  if (!m_inspection) {
    if (error) *error = tr("%1: nothing to export yet (no specialist is evaluated)").arg(path);
    return false;
  }
  const souplab::SoupInspection& in = *m_inspection;
  // The image: the alpha plot and the view beside it, as on screen.
  return exportTableOrImage(path, error, m_alphaPlot->parentWidget(), shown, [&] {
    // One table: the experts' coefficients, then every block's and tensor's distances.
    std::string csv = "kind,name,alpha_h,alpha_uniform,from_shared,from_uniform,numel\n";
    for (size_t j = 0; j < in.alpha.size(); ++j)
      csv += "expert,E" + std::to_string(j + 1) + ',' + std::to_string(in.alpha[j]) + ',' +
             std::to_string(in.alpha_uniform.at(j)) + ",,,\n";
    for (const auto* rows : {&in.blocks, &in.tensors})
      for (const souplab::ParamDistance& d : *rows)
        csv += std::string(rows == &in.blocks ? "block," : "tensor,") + d.name + ",,," +
               std::to_string(d.from_shared) + ',' + std::to_string(d.from_uniform) + ',' + std::to_string(d.numel) + '\n';
    // The experts' shares per block: "E2@block 0", with |alpha_j| ||E_j|| / ||S|| as from_shared.
    for (size_t j = 0; j < in.expert_blocks.size(); ++j)
      for (size_t b = 0; b < in.expert_blocks[j].size() && b < in.blocks.size(); ++b)
        csv += "expert_share,E" + std::to_string(j + 1) + '@' + in.blocks[b].name + ",,," +
               std::to_string(in.expert_blocks[j][b]) + ",,\n";
    return csv;
  });
}

void InsidePanel::exportDialog() {
  exportWithDialog(this, tr("Export inside the soup"), QStringLiteral("inside.csv"),
                   [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace souplab::gui
