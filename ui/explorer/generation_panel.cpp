#include "ui/explorer/generation_panel.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSpinBox>
#include <QTextCursor>
#include <QVBoxLayout>

namespace souplab::gui {

GenerationPanel::GenerationPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);

  auto* controls = new QHBoxLayout;
  m_prompt = new QLineEdit(this);
  m_prompt->setObjectName(QStringLiteral("promptEdit"));
  m_prompt->setPlaceholderText(tr("Prompt (may be empty)"));
  controls->addWidget(m_prompt, 1);

  const souplab::SampleOptions defaults;
  m_temperature = new QDoubleSpinBox(this);
  m_temperature->setObjectName(QStringLiteral("temperatureSpin"));
  m_temperature->setRange(0.0, 2.0);
  m_temperature->setSingleStep(0.1);
  m_temperature->setValue(defaults.temperature);
  m_temperature->setToolTip(tr("Temperature (0 = greedy)"));
  m_topK = new QSpinBox(this);
  m_topK->setObjectName(QStringLiteral("topKSpin"));
  m_topK->setRange(0, 256);
  m_topK->setValue(defaults.top_k);
  m_topK->setToolTip(tr("Top-k (0 = no cut)"));
  m_length = new QSpinBox(this);
  m_length->setObjectName(QStringLiteral("lengthSpin"));
  m_length->setRange(1, 4096);
  m_length->setValue(defaults.max_new_tokens);
  m_length->setToolTip(tr("Bytes to generate"));
  controls->addWidget(new QLabel(tr("temp"), this));
  controls->addWidget(m_temperature);
  controls->addWidget(new QLabel(tr("top-k"), this));
  controls->addWidget(m_topK);
  controls->addWidget(new QLabel(tr("length"), this));
  controls->addWidget(m_length);

  m_follow = new QCheckBox(tr("follow h"), this);
  m_follow->setObjectName(QStringLiteral("followCheck"));
  m_follow->setChecked(true);
  m_follow->setToolTip(tr("Regenerate from the same prompt whenever h changes"));
  controls->addWidget(m_follow);

  m_button = new QPushButton(tr("Generate"), this);
  m_button->setObjectName(QStringLiteral("generateButton"));
  connect(m_button, &QPushButton::clicked, this, [this] {
    if (m_running) Q_EMIT stopRequested();
    else Q_EMIT generateRequested();
  });
  connect(m_prompt, &QLineEdit::returnPressed, this, &GenerationPanel::generateRequested);
  controls->addWidget(m_button);
  layout->addLayout(controls);

  m_output = new QPlainTextEdit(this);
  m_output->setObjectName(QStringLiteral("outputText"));
  m_output->setReadOnly(true);
  m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_output->setPlaceholderText(tr("Text sampled from the specialist at the current h"));
  layout->addWidget(m_output, 1);
  setAvailable(false);
}

QString GenerationPanel::prompt() const { return m_prompt->text(); }

souplab::SampleOptions GenerationPanel::options() const {
  souplab::SampleOptions o;
  o.temperature = m_temperature->value();
  o.top_k = m_topK->value();
  o.max_new_tokens = m_length->value();
  // A fixed seed: when h moves, the text changes because the model did, not the dice.
  o.seed = 1;
  return o;
}

bool GenerationPanel::followsWeights() const { return m_follow->isChecked(); }

QString GenerationPanel::output() const { return m_output->toPlainText(); }

void GenerationPanel::setRunning(bool running) {
  m_running = running;
  m_button->setText(running ? tr("Stop") : tr("Generate"));
}

void GenerationPanel::setAvailable(bool available) { m_button->setEnabled(available); }

void GenerationPanel::clearOutput() {
  m_output->clear();
  m_output->insertPlainText(m_prompt->text());
}

void GenerationPanel::appendPiece(const QString& piece) {
  // Append at the end whatever the user selected, and keep following the end.
  QTextCursor cursor(m_output->document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(piece);
  m_output->verticalScrollBar()->setValue(m_output->verticalScrollBar()->maximum());
}

}  // namespace souplab::gui
