#include "ui/compare/compare_view.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "app/glue/posthoc_workers.h"
#include "ui/compare/posthoc_dialog.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {

CompareView::CompareView(QWidget* parent)
    : QWidget(parent),
      m_models(new QListWidget(this)),
      m_targets(new QLineEdit(this)),
      m_windows(new QSpinBox(this)),
      m_evaluate(new QPushButton(tr("Evaluate"), this)),
      m_progress(new QProgressBar(this)),
      m_status(new QLabel(this)),
      m_plot(new QCustomPlot(this)),
      m_table(new QTableWidget(this)),
      m_worker(new CompareWorker(this)) {
  m_models->setObjectName(QStringLiteral("compareModels"));
  m_models->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_targets->setObjectName(QStringLiteral("compareTargets"));
  m_targets->setPlaceholderText(tr("target mixtures, e.g. code_c=0.5,bible_kjv=0.5; manpages_de=1"));
  m_windows->setRange(1, 256);
  m_windows->setValue(16);
  m_windows->setToolTip(tr("validation windows per domain"));
  m_evaluate->setObjectName(QStringLiteral("compareEvaluate"));
  m_plot->setObjectName(QStringLiteral("compareChart"));
  m_plot->setMinimumSize(360, 240);
  m_table->setObjectName(QStringLiteral("compareTable"));
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_progress->setVisible(false);

  auto* addFiles = new QPushButton(tr("Add checkpoint/model…"), this);
  auto* addFolder = new QPushButton(tr("Add folder…"), this);
  auto* remove = new QPushButton(tr("Remove"), this);
  auto* build = new QPushButton(tr("Build post-hoc…"), this);
  build->setToolTip(tr("Train LoRA or full experts from a base, PHATGOOSE routing, or WEMoE"));
  auto* buttons = new QHBoxLayout;
  for (auto* b : {addFiles, addFolder, remove, build}) buttons->addWidget(b);
  buttons->addStretch();
  auto* left = new QWidget(this);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(new QLabel(tr("Models (PATH or PATH@H to fix a soup's h):"), left));
  leftLayout->addWidget(m_models);
  leftLayout->addLayout(buttons);
  auto* targetRow = new QHBoxLayout;
  targetRow->addWidget(new QLabel(tr("Targets:"), left));
  targetRow->addWidget(m_targets, 1);
  targetRow->addWidget(new QLabel(tr("windows"), left));
  targetRow->addWidget(m_windows);
  targetRow->addWidget(m_evaluate);
  leftLayout->addLayout(targetRow);
  leftLayout->addWidget(m_progress);
  leftLayout->addWidget(m_status);

  auto* right = new QSplitter(Qt::Vertical, this);
  right->addWidget(m_plot);
  right->addWidget(m_table);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(split);

  m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
  m_plot->xAxis->setTickLabelRotation(45);
  m_plot->xAxis->setSubTicks(false);
  m_plot->xAxis->grid()->setVisible(false);
  m_plot->yAxis->setLabel(tr("validation loss (nats/byte)"));
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(font());

  connect(addFiles, &QPushButton::clicked, this, &CompareView::addModelsDialog);
  connect(addFolder, &QPushButton::clicked, this, &CompareView::addFolderDialog);
  connect(build, &QPushButton::clicked, this, &CompareView::buildDialog);
  connect(remove, &QPushButton::clicked, this, [this] { qDeleteAll(m_models->selectedItems()); });
  connect(m_evaluate, &QPushButton::clicked, this, [this] { evaluate(); });
  connect(m_worker, &CompareWorker::progress, this, [this](const QString& what, int done, int total) {
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    m_status->setText(tr("Evaluating %1…").arg(what));
  });
  connect(m_worker, &CompareWorker::finished, this, [this](const souplab::CompareResult& r) {
    m_progress->setVisible(false);
    m_evaluate->setEnabled(true);
    m_status->setText(tr("%1 models evaluated").arg(r.rows.size()));
    showResult(r);
    Q_EMIT evaluated();
  });
  connect(m_worker, &CompareWorker::failed, this, [this](const QString& message) {
    m_progress->setVisible(false);
    m_evaluate->setEnabled(true);
    m_status->setText(message);
    Q_EMIT errorOccurred(message);
  });
}

CompareView::~CompareView() = default;

void CompareView::addModel(const QString& spec) {
  if (!spec.isEmpty() && m_models->findItems(spec, Qt::MatchExactly).isEmpty()) {
    auto* item = new QListWidgetItem(spec, m_models);
    item->setFlags(item->flags() | Qt::ItemIsEditable);  // so a soup's @H can be typed in
  }
}

QStringList CompareView::models() const {
  QStringList out;
  for (int i = 0; i < m_models->count(); ++i) out << m_models->item(i)->text();
  return out;
}

void CompareView::setTargets(const QString& targets) { m_targets->setText(targets); }

bool CompareView::evaluate() {
  if (m_worker->isRunning() || m_models->count() == 0) return false;
  QStringList targets;
  for (const auto& t : m_targets->text().split(QLatin1Char(';'), Qt::SkipEmptyParts))
    if (!t.trimmed().isEmpty()) targets << t.trimmed();
  if (!m_worker->start(models(), targets, m_windows->value())) return false;
  m_evaluate->setEnabled(false);
  m_progress->setVisible(true);
  m_progress->setRange(0, 0);
  m_status->setText(tr("Opening the models…"));
  return true;
}

void CompareView::showResult(const souplab::CompareResult& r) {
  m_result = r;
  QStringList columns;
  for (const auto& d : r.domains) columns << QString::fromStdString(d);
  for (const auto& t : r.targets) columns << tr("target %1").arg(QString::fromStdString(t.name));
  // Table: one row per model.
  m_table->clear();
  m_table->setColumnCount(columns.size() + 1);
  m_table->setRowCount(int(r.rows.size()));
  m_table->setHorizontalHeaderLabels(QStringList{tr("model")} + columns);
  for (int i = 0; i < int(r.rows.size()); ++i) {
    const auto& row = r.rows[size_t(i)];
    m_table->setItem(i, 0, new QTableWidgetItem(QStringLiteral("%1 (%2)").arg(QString::fromStdString(row.label),
                                                                               QString::fromUtf8(souplab::model_kind_name(row.kind)))));
    std::vector<double> values = row.domain_loss;
    values.insert(values.end(), row.target_loss.begin(), row.target_loss.end());
    for (int c = 0; c < int(values.size()); ++c)
      m_table->setItem(i, c + 1, new QTableWidgetItem(QString::number(values[size_t(c)], 'f', 4)));
  }
  m_table->resizeColumnsToContents();
  // Grouped bars: one group per column, one bar series per model.
  m_plot->clearPlottables();
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int c = 0; c < columns.size(); ++c) ticker->addTick(c, columns[c]);
  m_plot->xAxis->setTicker(ticker);
  auto* group = new QCPBarsGroup(m_plot);
  group->setSpacingType(QCPBarsGroup::stAbsolute);
  group->setSpacing(1);
  const int n = std::max<int>(1, int(r.rows.size()));
  double top = 0;
  for (int i = 0; i < int(r.rows.size()); ++i) {
    const auto& row = r.rows[size_t(i)];
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    const QColor color = QColor::fromHsv((i * 360 / n) % 360, 160, 200);
    bars->setPen(QPen(color.darker(120)));
    bars->setBrush(color);
    bars->setName(QString::fromStdString(row.label));
    bars->setWidth(0.8 / n);
    bars->setBarsGroup(group);
    QVector<double> keys, values;
    std::vector<double> v = row.domain_loss;
    v.insert(v.end(), row.target_loss.begin(), row.target_loss.end());
    for (int c = 0; c < int(v.size()); ++c) {
      keys << c;
      values << v[size_t(c)];
      if (std::isfinite(v[size_t(c)])) top = std::max(top, v[size_t(c)]);
    }
    bars->setData(keys, values, true);
  }
  m_plot->xAxis->setRange(-0.6, std::max<int>(1, columns.size()) - 0.4);
  m_plot->yAxis->setRange(0, top > 0 ? top * 1.3 : 1.0);
  m_plot->replot();
}

void CompareView::addModelsDialog() {
  const QStringList files = QFileDialog::getOpenFileNames(
      this, tr("Add models"), QString(), tr("Checkpoints and models (*.ckpt *.safetensors);;All files (*)"));
  for (const auto& f : files) addModel(f);
}

void CompareView::addFolderDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Add an exported, post-hoc or merged folder"));
  if (!dir.isEmpty()) addModel(dir);
}

void CompareView::buildDialog() {
  auto* dialog = new PosthocDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &PosthocDialog::built, this, [this](const QString& dir) { addModel(dir); });
  dialog->open();
}

}  // namespace souplab::gui
