#include "ui/compare/posthoc_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "app/glue/posthoc_workers.h"

namespace souplab::gui {
namespace {

QWidget* withBrowse(QLineEdit* edit, bool folder, QWidget* parent) {
  auto* w = new QWidget(parent);
  auto* l = new QHBoxLayout(w);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(edit, 1);
  auto* b = new QPushButton(QObject::tr("…"), w);
  l->addWidget(b);
  QObject::connect(b, &QPushButton::clicked, edit, [edit, folder, parent] {
    const QString p = folder ? QFileDialog::getExistingDirectory(parent, QObject::tr("Choose a folder"))
                             : QFileDialog::getOpenFileName(parent, QObject::tr("Choose a checkpoint"));
    if (!p.isEmpty()) edit->setText(p);
  });
  return w;
}

// What the dialog builds: the model kind, PHATGOOSE's router, and the steps it starts with.
struct Recipe {
  const char* title;
  const char* id;  // the method box's item data
  ModelKind kind;
  Router router;
  int steps;
};

const Recipe kRecipes[] = {
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "LoRA experts (one per domain)"),
     "lora", ModelKind::kLoraExperts, Router::kPhatgoose, 200},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "Full fine-tuned experts (one per domain)"),
     "full", ModelKind::kFullExperts, Router::kPhatgoose, 200},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "PHATGOOSE over LoRA experts"),
     "phatgoose", ModelKind::kPhatgoose, Router::kPhatgoose, 100},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "Prototype routing over LoRA experts"),
     "prototype", ModelKind::kPhatgoose, Router::kPrototype, 200},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "Arrow routing over LoRA experts"),
     "arrow", ModelKind::kPhatgoose, Router::kArrow, 200},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "Merged LoRA experts (average)"),
     "merged", ModelKind::kPhatgoose, Router::kMerged, 200},
    {QT_TRANSLATE_NOOP("souplab::gui::PosthocDialog", "WEMoE over full experts"),
     "wemoe", ModelKind::kWemoe, Router::kPhatgoose, 200},
};

}  // namespace

PosthocDialog::PosthocDialog(QWidget* parent)
    : QDialog(parent),
      m_method(new QComboBox(this)),
      m_base(new QLineEdit(this)),
      m_experts(new QLineEdit(this)),
      m_out(new QLineEdit(this)),
      m_target(new QLineEdit(this)),
      m_steps(new QSpinBox(this)),
      m_rank(new QSpinBox(this)),
      m_progress(new QProgressBar(this)),
      m_status(new QLabel(this)),
      m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)),
      m_worker(new PosthocWorker(this)) {
  setWindowTitle(tr("Build post-hoc experts"));
  for (const Recipe& r : kRecipes) m_method->addItem(tr(r.title), QString::fromLatin1(r.id));
  m_steps->setRange(1, 1000000);
  m_steps->setValue(200);
  m_rank->setRange(1, 1024);
  m_rank->setValue(16);
  m_target->setPlaceholderText(tr("e.g. code_c=0.5,bible_kjv=0.5"));
  m_progress->setVisible(false);
  m_status->setWordWrap(true);
  auto* form = new QFormLayout;
  form->addRow(tr("Method"), m_method);
  form->addRow(tr("Base checkpoint"), withBrowse(m_base, false, this));
  form->addRow(tr("Experts folder"), withBrowse(m_experts, true, this));
  form->addRow(tr("Target mixture (WEMoE)"), m_target);
  form->addRow(tr("Steps (per expert / gates / router)"), m_steps);
  form->addRow(tr("LoRA rank"), m_rank);
  form->addRow(tr("Output folder"), m_out);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(m_buttons);
  m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Build"));
  connect(m_method, &QComboBox::currentIndexChanged, this, &PosthocDialog::updateFields);
  connect(m_buttons, &QDialogButtonBox::accepted, this, [this] { startBuild(); });
  connect(m_buttons, &QDialogButtonBox::rejected, this, &PosthocDialog::reject);
  connect(m_worker, &PosthocWorker::progress, this, [this](const QString& what, int done, int total) {
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    m_status->setText(what);
  });
  connect(m_worker, &PosthocWorker::finished, this, [this](const QString& dir, const QString& summary) {
    m_progress->setVisible(false);
    m_status->setText(tr("Built %1\n%2").arg(dir, summary));
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(true);
    Q_EMIT built(dir);
  });
  connect(m_worker, &PosthocWorker::failed, this, [this](const QString& message) {
    m_progress->setVisible(false);
    m_status->setText(message);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(true);
  });
  updateFields();
}

void PosthocDialog::updateFields() {
  const Recipe& r = kRecipes[std::max(0, m_method->currentIndex())];
  const bool experts = r.kind == ModelKind::kLoraExperts || r.kind == ModelKind::kFullExperts;
  const bool wemoe = r.kind == ModelKind::kWemoe;
  m_base->setEnabled(experts || wemoe);
  m_experts->setEnabled(!experts);
  m_target->setEnabled(wemoe);
  m_rank->setEnabled(r.kind == ModelKind::kLoraExperts);
  // Only trained gates (and experts, routers) take steps; the other routers are computed.
  m_steps->setEnabled(r.kind != ModelKind::kPhatgoose || r.router == Router::kPhatgoose);
  m_steps->setValue(r.steps);
}

bool PosthocDialog::startBuild() {
  PosthocRequest q;
  const Recipe& r = kRecipes[std::max(0, m_method->currentIndex())];
  q.kind = r.kind;
  q.router = r.router;
  q.base = m_base->text().trimmed();
  q.experts = m_experts->text().trimmed();
  q.outDir = m_out->text().trimmed();
  q.targetWeights = m_target->text().trimmed();
  q.steps = m_steps->value();
  q.rank = m_rank->value();
  QString missing;
  if (q.outDir.isEmpty()) missing = tr("an output folder");
  if (m_base->isEnabled() && q.base.isEmpty()) missing = tr("a base checkpoint");
  if (m_experts->isEnabled() && q.experts.isEmpty()) missing = tr("an experts folder");
  if (m_target->isEnabled() && q.targetWeights.isEmpty()) missing = tr("a target mixture");
  if (!missing.isEmpty()) {
    m_status->setText(tr("Please give %1.").arg(missing));
    return false;
  }
  if (!m_worker->start(q)) return false;
  m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
  m_progress->setVisible(true);
  m_progress->setRange(0, 0);
  m_status->setText(tr("Starting…"));
  return true;
}

void PosthocDialog::reject() {
  if (m_worker->isRunning()) {
    m_worker->cancel();  // the engine stops at the next step; the dialog closes when it has
    m_status->setText(tr("Cancelling…"));
    connect(m_worker, &PosthocWorker::failed, this, [this] { QDialog::reject(); });
    return;
  }
  QDialog::reject();
}

}  // namespace souplab::gui
