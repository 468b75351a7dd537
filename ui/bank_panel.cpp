#include "ui/bank_panel.h"

#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QVBoxLayout>

namespace souplab::gui {

namespace {
QString count(int64_t n) {
  const QString exact = QLocale().toString(qlonglong(n));
  if (n >= 1'000'000) return QStringLiteral("%1 M  (%2)").arg(n / 1e6, 0, 'f', 2).arg(exact);
  return exact;
}
}  // namespace

BankPanel::BankPanel(QWidget* parent) : QWidget(parent) {
  m_title = new QLabel(this);
  m_title->setWordWrap(true);
  m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_openButton = new QPushButton(tr("Open bank…"), this);
  m_form = new QFormLayout;
  m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_openButton);
  layout->addWidget(m_title);
  layout->addLayout(m_form);
  layout->addStretch(1);
  connect(m_openButton, &QPushButton::clicked, this, &BankPanel::openRequested);
  showEmpty();
}

void BankPanel::setRow(const QString& key, const QString& value) {
  auto* label = new QLabel(value, this);
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_form->addRow(key, label);
}

void BankPanel::showEmpty() {
  m_path.clear();
  while (m_form->rowCount() > 0) m_form->removeRow(0);
  m_title->setText(tr("No bank open. Open a checkpoint (.ckpt) or train one."));
}

void BankPanel::showLoading(const QString& path) {
  showEmpty();
  m_path = path;
  m_title->setText(tr("Reading %1…").arg(QFileInfo(path).fileName()));
}

void BankPanel::showError(const QString& path, const QString& message) {
  showEmpty();
  m_path = path;
  m_title->setText(tr("<b>Could not open</b> %1").arg(path.toHtmlEscaped()));
  setRow(tr("Error"), message);
}

void BankPanel::showFacts(const souplab::ModelFacts& f) {
  showEmpty();
  m_path = QString::fromStdString(f.path);
  m_title->setText(QStringLiteral("<b>%1</b>").arg(QFileInfo(m_path).fileName().toHtmlEscaped()));
  m_title->setToolTip(m_path);
  setRow(tr("Kind"), QString::fromUtf8(souplab::model_kind_name(f.kind)));
  QStringList domains;
  for (const std::string& d : f.domains) domains << QString::fromStdString(d);
  // Tens of cluster names would make the dock as wide as the screen: list the first dozen here,
  // all of them in the tooltip (the explorer's filter finds any one).
  constexpr int kListed = 12;
  const QString listed = domains.size() <= kListed
                             ? domains.join(QStringLiteral(", "))
                             : tr("%1, … (%2 more)").arg(domains.mid(0, kListed).join(QStringLiteral(", ")))
                                   .arg(domains.size() - kListed);
  setRow(tr("Domains (k)"), domains.isEmpty() ? tr("–") : tr("%1: %2").arg(domains.size()).arg(listed));
  if (domains.size() > kListed)
    if (QLayoutItem* item = m_form->itemAt(m_form->rowCount() - 1, QFormLayout::FieldRole); item && item->widget())
      item->widget()->setToolTip(domains.join(QStringLiteral(", ")));
  const bool moe = f.kind == souplab::ModelKind::kMoe;
  if (moe)
    setRow(tr("Experts"), tr("%1 per MoE block, top-%2 routing, every %3 block(s)")
                              .arg(f.config.moe.n_experts).arg(f.config.moe.top_k).arg(f.config.moe.every));
  else
    setRow(tr("Experts (n)"), QString::number(f.config.bank.n_experts));
  const ModelConfig& m = f.config.model;
  setRow(tr("Model"), tr("%1 layers, width %2, %3 heads, context %4")
                          .arg(m.n_layer).arg(m.n_embd).arg(m.n_head).arg(m.block_size));
  setRow(moe ? tr("Shared (non-expert)") : tr("Shared (S)"), count(f.counts.shared));
  setRow(tr("Per expert"), count(f.counts.per_expert));
  setRow(tr("Total trained"), count(f.counts.total));
  if (moe)  // a MoE ships whole: every h gets the same model
    setRow(tr("Active per token"), count(f.counts.active));
  else
    setRow(tr("Instantiated"), count(f.counts.instantiated));
  setRow(tr("Device"), QString::fromStdString(f.device));
  QString run = f.run_id > 0 ? tr("%1 (#%2)").arg(QString::fromStdString(f.run_name)).arg(f.run_id)
                             : tr("unknown");
  setRow(tr("Run"), run);
  setRow(tr("Step"), QLocale().toString(qlonglong(f.step)));
}

}  // namespace souplab::gui
