#include "ui/explorer/finetune_dialog.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "app/glue/finetune_worker.h"
#include "souplab/model.h"
#include "souplab/paths.h"
#include "ui/explorer/export_dialog.h"

namespace souplab::gui {

FinetuneDialog::FinetuneDialog(std::shared_ptr<const souplab::Model> model, const std::vector<double>& h,
                               QWidget* parent)
    : QDialog(parent), m_model(std::move(model)), m_h(h), m_worker(new FinetuneWorker(this)) {
  setWindowTitle(tr("Fine-tune the specialist on a text"));
  const souplab::ModelFacts& f = m_model->facts();
  QStringList domains;
  for (const auto& d : f.domains) domains << QString::fromStdString(d);
  const QString name = ExportDialog::suggestedFolderName(QString::fromStdString(f.run_name), domains, m_h);
  auto* intro = new QLabel(
      tr("Instantiates the specialist on the sliders (<b>%1</b>), trains it on your text and exports "
         "it. The text's last fifth is never trained on: the loss there is shown before and after, so "
         "you see what fine-tuning bought.")
          .arg(name.toHtmlEscaped()),
      this);
  intro->setWordWrap(true);

  m_target = new QLineEdit(this);
  m_target->setObjectName(QStringLiteral("targetEdit"));
  m_target->setPlaceholderText(tr("a text file, or a folder of text files"));
  auto* browseFile = new QPushButton(tr("File…"), this);
  auto* browseDir = new QPushButton(tr("Folder…"), this);
  auto* targetRow = new QHBoxLayout;
  targetRow->addWidget(m_target, 1);
  targetRow->addWidget(browseFile);
  targetRow->addWidget(browseDir);
  m_steps = new QSpinBox(this);
  m_steps->setObjectName(QStringLiteral("stepsSpin"));
  m_steps->setRange(1, 100000);
  m_steps->setValue(100);
  m_folder = new QLineEdit(this);
  m_folder->setObjectName(QStringLiteral("folderEdit"));
  QString suggestion = QDir(QString::fromStdString(souplab::default_data_dir()))
                           .filePath(QStringLiteral("exports/%1-finetuned").arg(name));
  for (int n = 2; QFileInfo::exists(suggestion); ++n)
    suggestion = QDir(QString::fromStdString(souplab::default_data_dir()))
                     .filePath(QStringLiteral("exports/%1-finetuned-%2").arg(name).arg(n));
  m_folder->setText(suggestion);

  auto* form = new QFormLayout;
  form->addRow(tr("Target text:"), targetRow);
  form->addRow(tr("Steps:"), m_steps);
  form->addRow(tr("Export to:"), m_folder);

  m_progress = new QProgressBar(this);
  m_progress->hide();
  m_result = new QLabel(this);
  m_result->setObjectName(QStringLiteral("resultLabel"));
  m_result->setWordWrap(true);
  m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_start = new QPushButton(tr("Fine-tune"), this);
  m_start->setObjectName(QStringLiteral("startButton"));
  m_start->setDefault(true);
  m_stop = new QPushButton(tr("Stop"), this);
  m_stop->setObjectName(QStringLiteral("stopButton"));
  m_stop->setEnabled(false);
  m_close = new QPushButton(tr("Close"), this);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(m_start);
  buttons->addWidget(m_stop);
  buttons->addWidget(m_close);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(intro);
  layout->addLayout(form);
  layout->addWidget(m_progress);
  layout->addWidget(m_result);
  layout->addLayout(buttons);

  connect(browseFile, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Target text"));
    if (!p.isEmpty()) m_target->setText(p);
  });
  connect(browseDir, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getExistingDirectory(this, tr("Folder of target texts"));
    if (!p.isEmpty()) m_target->setText(p);
  });
  connect(m_start, &QPushButton::clicked, this, &FinetuneDialog::startFinetune);
  connect(m_stop, &QPushButton::clicked, m_worker, &FinetuneWorker::cancel);
  connect(m_close, &QPushButton::clicked, this, &FinetuneDialog::reject);
  connect(m_worker, &FinetuneWorker::progress, this, [this](const QString& what, int done, int total) {
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    m_result->setText(what);
  });
  connect(m_worker, &FinetuneWorker::finished, this, &FinetuneDialog::onFinished);
  connect(m_worker, &FinetuneWorker::finetuneFailed, this, [this](const QString& dir, const QString& message) {
    setBusy(false);
    m_result->setText(tr("<b>Not fine-tuned:</b> %1").arg(message.toHtmlEscaped()));
    Q_EMIT finetuneFailed(dir, message);
  });
}

FinetuneDialog::~FinetuneDialog() {
  m_worker->cancel();
  m_worker->wait();
}

bool FinetuneDialog::isRunning() const { return m_worker->isRunning(); }

void FinetuneDialog::startFinetune() {
  if (isRunning()) return;
  if (m_target->text().trimmed().isEmpty()) {
    m_result->setText(tr("<b>Choose a target text first.</b>"));
    return;
  }
  FinetuneRequest r;
  r.model = m_model;
  r.h = m_h;
  r.target = m_target->text().trimmed();
  r.outDir = m_folder->text().trimmed();
  r.steps = m_steps->value();
  r.runLogPath = m_runLogPath;
  if (m_worker->start(r)) setBusy(true);
}

void FinetuneDialog::reject() {
  if (!isRunning()) QDialog::reject();
}

void FinetuneDialog::setBusy(bool busy) {
  m_start->setEnabled(!busy);
  m_stop->setEnabled(busy);
  m_close->setEnabled(!busy);
  m_target->setEnabled(!busy);
  m_folder->setEnabled(!busy);
  m_steps->setEnabled(!busy);
  m_progress->setVisible(busy);
}

void FinetuneDialog::onFinished(const FinetuneOutcome& o) {
  setBusy(false);
  const double change = 100.0 * (o.lossAfter - o.lossBefore) / o.lossBefore;
  QString text = tr("%1 %2 steps in %3 s. Held-out target loss: %4 before, <b>%5</b> after (%6%7 %).<br>"
                    "Exported to <b>%8</b>.")
                     .arg(o.cancelled ? tr("Stopped after") : tr("Trained"))
                     .arg(o.steps)
                     .arg(o.seconds, 0, 'f', 1)
                     .arg(o.lossBefore, 0, 'f', 4)
                     .arg(o.lossAfter, 0, 'f', 4)
                     .arg(change >= 0 ? QStringLiteral("+") : QString())
                     .arg(change, 0, 'f', 2)
                     .arg(o.dir.toHtmlEscaped());
  for (const auto& n : o.notes) text += QStringLiteral("<br><small>%1</small>").arg(n.toHtmlEscaped());
  m_result->setText(text);
  Q_EMIT finetuned(o.dir);
}

}  // namespace souplab::gui
