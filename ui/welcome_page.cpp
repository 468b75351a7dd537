#include "ui/welcome_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "app/glue/quick_start.h"

namespace souplab::gui {

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
  auto* title = new QLabel(tr("<h1>Welcome to SoupLab</h1>"), this);
  auto* intro = new QLabel(
      tr("A Soup-of-Experts bank is a shared model plus a few experts; averaging them with "
         "weights computed from a domain mix gives a specialist for that mix, instantly, with no "
         "retraining. Train a small bank, then move the domain sliders and watch the "
         "specialist's losses follow."),
      this);
  intro->setWordWrap(true);

  m_quickStart = new QPushButton(tr("Quick start: train a small bank on the demo corpus"), this);
  QFont big = m_quickStart->font();
  big.setPointSizeF(big.pointSizeF() * 1.4);
  big.setBold(true);
  m_quickStart->setFont(big);
  m_quickStart->setMinimumHeight(64);
  m_quickStart->setDefault(true);
  m_quickStart->setToolTip(
      tr("Builds the demo corpus in %1 if needed (a few seconds), then trains a soup bank with "
         "the default settings (~5 minutes on 2 cores) and after it a dense model of the same budget, "
         "so the explorer can show whether the specialists beat it. You can pause, stop and resume it.")
          .arg(demoCorpusDir()));

  auto* open = new QPushButton(tr("Open a bank…"), this);
  auto* configure = new QPushButton(tr("Configure a run…"), this);
  m_note = new QLabel(tr("The demo corpus is built from text already on this machine "
                         "(licences, headers, scripts): one domain per kind of text."),
                      this);
  m_note->setWordWrap(true);
  m_note->setStyleSheet(QStringLiteral("color: palette(mid);"));

  auto* others = new QHBoxLayout;
  others->addStretch(1);
  others->addWidget(open);
  others->addWidget(configure);
  others->addStretch(1);

  // A fixed-width column: wrapped labels given an alignment shrink to one word per line.
  auto* content = new QWidget(this);
  content->setFixedWidth(640);
  auto* column = new QVBoxLayout(content);
  column->addWidget(title, 0, Qt::AlignHCenter);
  column->addWidget(intro);
  column->addSpacing(24);
  column->addWidget(m_quickStart);
  column->addSpacing(12);
  column->addLayout(others);
  column->addSpacing(12);
  column->addWidget(m_note);
  // No alignment flag on `content`: it would drop heightForWidth and clip the wrapped text.
  auto* row = new QHBoxLayout;
  row->addStretch(1);
  row->addWidget(content);
  row->addStretch(1);
  auto* outer = new QVBoxLayout(this);
  outer->addStretch(2);
  outer->addLayout(row);
  outer->addStretch(3);

  connect(m_quickStart, &QPushButton::clicked, this, &WelcomePage::quickStartRequested);
  connect(open, &QPushButton::clicked, this, &WelcomePage::openBankRequested);
  connect(configure, &QPushButton::clicked, this, &WelcomePage::newRunRequested);
}

void WelcomePage::setBusy(const QString& text) {
  m_quickStart->setEnabled(false);
  m_note->setText(text);
}

}  // namespace souplab::gui
