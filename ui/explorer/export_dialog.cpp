#include "ui/explorer/export_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>
#include <numeric>

#include "app/glue/export_worker.h"
#include "souplab/paths.h"
#include "souplab/export.h"
#include "souplab/model.h"

namespace souplab::gui {

namespace {
const char* kLastDirKey = "export/lastDir";
const char* kFormatKey = "export/format";

// Domain indices by decreasing weight (ties in domain order).
std::vector<size_t> byWeight(const std::vector<double>& h) {
  std::vector<size_t> order(h.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h[a] > h[b]; });
  return order;
}
}  // namespace

QString ExportDialog::suggestedFolderName(const QString& runName, const QStringList& domains,
                                          const std::vector<double>& h) {
  QString name = runName.isEmpty() ? QStringLiteral("specialist") : runName;
  // The three largest weights of at least 5 %, as name+percent: enough to tell exports apart.
  int shown = 0;
  for (size_t i : byWeight(h)) {
    if (shown == 3 || i >= size_t(domains.size()) || h[i] < 0.05) break;
    name += QStringLiteral("-%1%2").arg(domains[int(i)]).arg(qRound(h[i] * 100));
    ++shown;
  }
  static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9._+-]+"));
  return name.replace(unsafe, QStringLiteral("_"));
}

ExportDialog::ExportDialog(std::shared_ptr<const souplab::Model> bank, const std::vector<double>& h,
                           QWidget* parent)
    : QDialog(parent), m_bank(std::move(bank)), m_h(h) {
  setWindowTitle(tr("Export specialist"));
  const souplab::ModelFacts& f = m_bank->facts();
  QStringList domains;
  for (const auto& d : f.domains) domains << QString::fromStdString(d);

  auto* source = new QLabel(
      tr("From <b>%1</b> (%2, step %3)<br><small>%4</small>")
          .arg(f.run_name.empty() ? tr("unnamed run") : QString::fromStdString(f.run_name).toHtmlEscaped(),
               QString::fromUtf8(souplab::model_kind_name(f.kind)))
          .arg(f.step)
          .arg(QString::fromStdString(f.path).toHtmlEscaped()),
      this);
  source->setTextInteractionFlags(Qt::TextSelectableByMouse);

  // The weights being exported, largest first: what the user checks before writing anything.
  m_table = new QTableWidget(int(domains.size()), 3, this);
  m_table->setObjectName(QStringLiteral("weightsTable"));
  m_table->setHorizontalHeaderLabels({tr("Domain"), tr("Weight"), tr("Val. loss")});
  m_table->verticalHeader()->hide();
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->setSelectionMode(QAbstractItemView::NoSelection);
  m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  int row = 0;
  for (size_t i : byWeight(m_h)) {
    if (i >= size_t(domains.size())) continue;
    auto* name = new QTableWidgetItem(domains[int(i)]);
    auto* weight = new QTableWidgetItem(QString::number(m_h[i], 'f', 3));
    weight->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    if (m_h[i] <= 0) {
      name->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
      weight->setForeground(name->foreground());
    }
    name->setData(Qt::UserRole, int(i));
    m_table->setItem(row, 0, name);
    m_table->setItem(row, 1, weight);
    auto* loss = new QTableWidgetItem;
    loss->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_table->setItem(row, 2, loss);
    ++row;
  }
  m_table->setRowCount(row);
  m_table->setFocusPolicy(Qt::NoFocus);
  // As tall as its rows (up to about ten, then it scrolls): no empty grid under few domains.
  const int rowsHeight = m_table->horizontalHeader()->sizeHint().height() + 2 * m_table->frameWidth() +
                         std::min(row, 10) * m_table->verticalHeader()->defaultSectionSize();
  m_table->setMinimumHeight(rowsHeight);
  m_table->setMaximumHeight(rowsHeight);

  QSettings settings;
  const QString parentDir =
      settings.value(kLastDirKey, QDir(QString::fromStdString(souplab::default_data_dir()))
                                      .filePath(QStringLiteral("exports")))
          .toString();
  // A free name by default, so that Export works without editing anything.
  const QString base = suggestedFolderName(QString::fromStdString(f.run_name), domains, m_h);
  QString suggestion = QDir(parentDir).filePath(base);
  for (int n = 2; QFileInfo::exists(suggestion); ++n)
    suggestion = QDir(parentDir).filePath(QStringLiteral("%1-%2").arg(base).arg(n));
  m_folder = new QLineEdit(QDir::toNativeSeparators(suggestion), this);
  m_folder->setObjectName(QStringLiteral("folderEdit"));
  m_folder->setMinimumWidth(420);
  m_folder->setToolTip(tr("The folder the export creates; it must not exist unless overwriting"));
  m_browse = new QPushButton(tr("Browse…"), this);
  auto* folderRow = new QHBoxLayout;
  folderRow->addWidget(m_folder, 1);
  folderRow->addWidget(m_browse);

  m_format = new QComboBox(this);
  m_format->addItem(tr("safetensors + config.json"), QStringLiteral("safetensors"));
  m_format->addItem(tr("ONNX (with a key/value cache)"), QStringLiteral("onnx"));
  m_format->addItem(tr("GGUF f16 for llama.cpp, ollama, LM Studio"), QStringLiteral("gguf-f16"));
  m_format->addItem(tr("GGUF q8_0 (half the size; width a multiple of 32)"), QStringLiteral("gguf-q8_0"));
  m_format->addItem(tr("GGUF f32"), QStringLiteral("gguf-f32"));
  m_format->addItem(tr("all (safetensors, ONNX and GGUF f16)"), QStringLiteral("all"));
  const int formatIndex = m_format->findData(settings.value(kFormatKey, "all").toString());
  m_format->setCurrentIndex(formatIndex < 0 ? m_format->findData(QStringLiteral("all")) : formatIndex);
  m_overwrite = new QCheckBox(tr("Replace the folder if it exists"), this);
  m_losses = new QCheckBox(tr("Compute validation losses for the model card"), this);
  m_losses->setChecked(true);
  m_losses->setToolTip(tr("Evaluates the specialist on the bank's validation windows (needs the "
                          "training corpus); takes a few seconds on a large bank"));

  auto* form = new QFormLayout;
  form->addRow(tr("Folder:"), folderRow);
  form->addRow(tr("Format:"), m_format);
  form->addRow(QString(), m_overwrite);
  form->addRow(QString(), m_losses);

  m_progress = new QProgressBar(this);
  m_progress->setTextVisible(false);
  m_progress->hide();
  m_stage = new QLabel(this);
  m_stage->hide();
  m_result = new QLabel(this);
  m_result->setObjectName(QStringLiteral("resultLabel"));
  m_result->setWordWrap(true);
  m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_result->hide();
  m_openFolder = new QPushButton(tr("Open folder"), this);
  m_openFolder->setObjectName(QStringLiteral("openFolderButton"));
  m_openFolder->hide();
  auto* resultRow = new QHBoxLayout;
  resultRow->addWidget(m_result, 1);
  resultRow->addWidget(m_openFolder, 0, Qt::AlignTop);

  auto* buttons = new QDialogButtonBox(this);
  m_exportButton = buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
  m_exportButton->setObjectName(QStringLiteral("exportButton"));
  m_exportButton->setDefault(true);
  m_closeButton = buttons->addButton(QDialogButtonBox::Close);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(source);
  layout->addWidget(new QLabel(tr("Domain weights h of the specialist:"), this));
  layout->addWidget(m_table);
  layout->addLayout(form);
  layout->addWidget(m_progress);
  layout->addWidget(m_stage);
  layout->addLayout(resultRow);
  layout->addWidget(buttons);

  m_worker = new ExportWorker(this);
  connect(m_worker, &ExportWorker::progress, this, [this](const QString& stage, int done, int total) {
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    m_stage->setText(stage);
  });
  connect(m_worker, &ExportWorker::finished, this, &ExportDialog::onFinished);
  connect(m_worker, &ExportWorker::exportFailed, this, &ExportDialog::onFailed);
  connect(m_browse, &QPushButton::clicked, this, &ExportDialog::browse);
  // Not accept(): the dialog stays open to show where the export went.
  connect(m_exportButton, &QPushButton::clicked, this, &ExportDialog::startExport);
  connect(m_closeButton, &QPushButton::clicked, this, &ExportDialog::reject);
  connect(m_openFolder, &QPushButton::clicked, this,
          [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_lastDir)); });
}

ExportDialog::~ExportDialog() = default;  // m_worker (a child) joins its thread

bool ExportDialog::isExporting() const { return m_worker->isRunning(); }

void ExportDialog::browse() {
  // The user picks where the folder goes; its name stays (editable in the line edit).
  const QFileInfo current(QDir::fromNativeSeparators(m_folder->text().trimmed()));
  const QString parentDir = QFileDialog::getExistingDirectory(
      this, tr("Export into"), current.absolutePath());
  if (parentDir.isEmpty()) return;
  m_folder->setText(QDir::toNativeSeparators(QDir(parentDir).filePath(current.fileName())));
}

void ExportDialog::setBusy(bool busy) {
  for (QWidget* w : std::initializer_list<QWidget*>{m_folder, m_browse, m_format, m_overwrite,
                                                    m_losses, m_exportButton, m_closeButton})
    w->setEnabled(!busy);
  m_progress->setVisible(busy);
  m_stage->setVisible(busy);
  if (busy) {
    m_progress->setRange(0, 0);  // busy indicator until the first stage is reported
    m_stage->setText(tr("Starting…"));
    m_result->hide();
    m_openFolder->hide();
  }
}

void ExportDialog::startExport() {
  if (isExporting()) return;
  const QString dir = QDir::fromNativeSeparators(m_folder->text().trimmed());
  if (dir.isEmpty()) {
    onFailed(dir, tr("no output folder given"));
    return;
  }
  ExportRequest request;
  request.model = m_bank;
  request.h = m_h;
  request.outDir = QFileInfo(dir).absoluteFilePath();
  souplab::parse_export_format(m_format->currentData().toString().toStdString(), &request.format);
  request.overwrite = m_overwrite->isChecked();
  request.withLosses = m_losses->isChecked();
  request.runLogPath = m_runLogPath;
  QSettings settings;
  settings.setValue(kLastDirKey, QFileInfo(request.outDir).absolutePath());
  settings.setValue(kFormatKey, m_format->currentData());
  setBusy(true);
  m_worker->start(request);
}

void ExportDialog::onFinished(const QString& dir, const QStringList& files,
                              const std::vector<double>& h, const std::vector<double>& losses,
                              const QStringList& notes) {
  setBusy(false);
  m_lastDir = dir;
  for (int row = 0; row < m_table->rowCount(); ++row) {
    const int i = m_table->item(row, 0)->data(Qt::UserRole).toInt();
    m_table->item(row, 2)->setText(i < int(losses.size()) ? QString::number(losses[size_t(i)], 'f', 4)
                                                          : QString());
  }
  QString text = tr("Exported to <b>%1</b><br>%2")
                     .arg(QDir::toNativeSeparators(dir).toHtmlEscaped(), files.join(QStringLiteral(", ")));
  if (!losses.empty() && losses.size() == h.size()) {
    double mix = 0;
    for (size_t i = 0; i < h.size(); ++i) mix += h[i] * losses[i];
    text += tr("<br>Validation loss on the h-weighted mixture: %1 nats/byte").arg(mix, 0, 'f', 4);
  }
  for (const QString& note : notes) text += QStringLiteral("<br><i>%1</i>").arg(note.toHtmlEscaped());
  m_result->setText(text);
  m_result->show();
  m_openFolder->show();
  Q_EMIT exported(dir);
}

void ExportDialog::onFailed(const QString& dir, const QString& message) {
  setBusy(false);
  // Window-modal but not blocking (open(), not exec()): the worker's signals keep flowing and
  // tests can read the box.
  // Engine errors name the folder already; others get it in front.
  const QString native = QDir::toNativeSeparators(dir);
  const QString problem = message.contains(dir) || message.contains(native)
                              ? message
                              : QStringLiteral("%1: %2").arg(native, message);
  auto* box = new QMessageBox(QMessageBox::Warning, tr("Export failed"),
                              tr("The specialist was not exported.\n\n%1").arg(problem),
                              QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("exportErrorBox"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
  Q_EMIT exportFailed(dir, message);
}

void ExportDialog::reject() {
  if (isExporting()) return;  // the export thread must finish; the folder appears whole or not at all
  QDialog::reject();
}

}  // namespace souplab::gui
