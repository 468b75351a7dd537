#include "ui/runs/run_browser.h"

#include <QDateTime>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMap>
#include <QPushButton>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "souplab/paths.h"
#include "souplab/model_kind.h"
#include "souplab/run_log.h"
#include "ui/runs/expert_load_map.h"
#include "ui/training/loss_plot.h"

namespace souplab::gui {

namespace {
QStandardItem* item(const QVariant& value, const QString& text = {}) {
  auto* it = new QStandardItem;
  it->setData(value, Qt::UserRole);  // sort key
  it->setData(text.isEmpty() ? value.toString() : text, Qt::DisplayRole);
  it->setEditable(false);
  return it;
}

QString localTime(const std::string& iso) {
  const QDateTime t = QDateTime::fromString(QString::fromStdString(iso), Qt::ISODate);
  return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                     : QString::fromStdString(iso);
}
}  // namespace

RunBrowser::RunBrowser(QWidget* parent) : QWidget(parent) {
  m_model = new QStandardItemModel(0, ColCount, this);
  m_model->setHorizontalHeaderLabels(
      {tr("Id"), tr("Name"), tr("Kind"), tr("Status"), tr("Steps"), tr("Best val loss"),
       tr("Started")});
  m_model->setSortRole(Qt::UserRole);
  m_table = new QTableView(this);
  m_table->setModel(m_model);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(ColId, Qt::DescendingOrder);
  m_table->verticalHeader()->hide();
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->horizontalHeader()->setSectionResizeMode(ColName, QHeaderView::Stretch);
  m_table->setAlternatingRowColors(true);

  m_plot = new LossPlot(tr("Validation loss (mean over domains, uniform h)"), this);
  auto* refreshButton = new QPushButton(tr("Refresh"), this);
  m_openButton = new QPushButton(tr("Open checkpoint"), this);
  m_resumeButton = new QPushButton(tr("Resume training"), this);
  m_status = new QLabel(this);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(refreshButton);
  buttons->addWidget(m_openButton);
  buttons->addWidget(m_resumeButton);
  buttons->addWidget(m_status, 1);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(m_table);
  split->addWidget(m_plot);
  m_loadMap = new ExpertLoadMap(this);
  m_loadMap->hide();
  split->addWidget(m_loadMap);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(buttons);
  layout->addWidget(split, 1);

  connect(refreshButton, &QPushButton::clicked, this, &RunBrowser::refresh);
  connect(m_openButton, &QPushButton::clicked, this,
          [this] { Q_EMIT openCheckpointRequested(selectedCheckpoint()); });
  connect(m_resumeButton, &QPushButton::clicked, this,
          [this] { Q_EMIT resumeRequested(selectedCheckpoint()); });
  connect(m_table, &QTableView::doubleClicked, this, [this] {
    if (!selectedCheckpoint().isEmpty()) Q_EMIT openCheckpointRequested(selectedCheckpoint());
  });
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    updateOverlay();
    updateButtons();
    updateExpertLoad();
  });
  updateButtons();
}

RunBrowser::~RunBrowser() = default;

void RunBrowser::setRunLogPath(const QString& path) {
  if (path == m_path) return;
  m_path = path;
  m_log.reset();
}

int RunBrowser::runCount() const { return m_model->rowCount(); }

bool RunBrowser::ensureLog() {
  if (m_log) return true;
  const std::string path = run_log_path_or_default(m_path.toStdString());
  // A first launch has no log yet: say so instead of creating an empty database here.
  if (!QFileInfo::exists(QString::fromStdString(path))) {
    m_status->setText(tr("No runs yet: train one from the Training tab."));
    return false;
  }
  try {
    m_log = std::make_unique<RunLog>(path);
    return true;
  } catch (const std::exception& e) {
    m_status->setText(QString::fromStdString(e.what()));
    return false;
  }
}

void RunBrowser::refresh() {
  if (!ensureLog()) return;
  QList<qint64> selected;
  for (const QModelIndex& index : m_table->selectionModel()->selectedRows(ColId))
    selected << index.data(Qt::UserRole).toLongLong();
  std::vector<RunSummary> runs;
  try {
    runs = m_log->list_runs();
  } catch (const std::exception& e) {
    m_status->setText(QString::fromStdString(e.what()));
    return;
  }
  m_model->removeRows(0, m_model->rowCount());
  m_checkpoints.clear();
  for (const RunSummary& r : runs) {
    QList<QStandardItem*> row;
    row << item(qlonglong(r.id)) << item(QString::fromStdString(r.name))
        << item(QString::fromStdString(r.kind)) << item(QString::fromStdString(r.status))
        << item(qlonglong(r.last_step));
    if (r.best_val_loss) row << item(*r.best_val_loss, QString::number(*r.best_val_loss, 'f', 4));
    else row << item(QVariant(), QStringLiteral("–"));
    row << item(QString::fromStdString(r.started_at), localTime(r.started_at));
    row[ColName]->setToolTip(QString::fromStdString(r.checkpoint_path));
    m_model->appendRow(row);
    m_checkpoints.insert(r.id, QString::fromStdString(r.checkpoint_path));
  }
  m_status->setText(tr("%n run(s) in %1", nullptr, int(runs.size()))
                        .arg(QString::fromStdString(m_log->path())));
  selectRuns(selected);
}

void RunBrowser::selectRuns(const QList<qint64>& runIds) {
  QItemSelection selection;
  for (int row = 0; row < m_model->rowCount(); ++row) {
    if (runIds.contains(m_model->item(row, ColId)->data(Qt::UserRole).toLongLong()))
      selection.select(m_model->index(row, 0), m_model->index(row, ColCount - 1));
  }
  m_table->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
  updateOverlay();
  updateButtons();
}

void RunBrowser::updateOverlay() {
  m_plot->clear();
  if (!m_log) return;
  int colour = 0;
  for (const QModelIndex& index : m_table->selectionModel()->selectedRows(ColId)) {
    const qint64 id = index.data(Qt::UserRole).toLongLong();
    const QString name = m_model->item(index.row(), ColName)->text();
    // Same definition as RunSummary::best_val_loss: mean over domains of loss_uniform per
    // step, or of "loss" for runs (dense) that have no uniform-h rows.
    QMap<qint64, QPair<double, int>> sums;
    try {
      for (const char* metric : {metric_key::kLossUniform, metric_key::kLoss}) {
        for (const Metric& m : m_log->metrics(id, std::string(metric))) {
          if (m.split != metric_key::kVal || !std::isfinite(m.value)) continue;
          auto& s = sums[m.step];
          s.first += m.value;
          s.second += 1;
        }
        if (!sums.isEmpty()) break;
      }
    } catch (const std::exception& e) {
      m_status->setText(QString::fromStdString(e.what()));
      continue;
    }
    const QString key = QString::number(id);
    m_plot->addSeries(key, tr("%1 (run %2)").arg(name).arg(id), LossPlot::colorFor(colour++));
    for (auto it = sums.cbegin(); it != sums.cend(); ++it)
      m_plot->append(key, double(it.key()), it.value().first / it.value().second);
  }
  m_plot->replotNow();
}

void RunBrowser::updateExpertLoad() {
  const QModelIndexList rows = m_table->selectionModel()->selectedRows(ColId);
  // The run log stores a run's kind by name; MoE runs have an expert-load map.
  const bool moe = rows.size() == 1 &&
                   souplab::parse_model_kind(m_model->item(rows.first().row(), ColKind)->text().toStdString()) ==
                       souplab::ModelKind::kMoe;
  m_loadMap->setVisible(moe);
  if (moe) m_loadMap->showRun(m_path, rows.first().data(Qt::UserRole).toLongLong());
}

QString RunBrowser::selectedCheckpoint() const {
  const QModelIndexList rows = m_table->selectionModel()->selectedRows(ColId);
  if (rows.size() != 1) return {};
  return m_checkpoints.value(rows.first().data(Qt::UserRole).toLongLong());
}

void RunBrowser::updateButtons() {
  const bool has = !selectedCheckpoint().isEmpty();
  m_openButton->setEnabled(has);
  m_resumeButton->setEnabled(has);
}

}  // namespace souplab::gui
