#include "ui/explorer/target_weights_button.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QMenu>
#include <QMimeData>
#include <QUrl>

#include "app/glue/explorer_session.h"
#include "app/glue/weights_worker.h"
#include "souplab/model.h"
#include "ui/explorer/domain_sliders.h"

namespace souplab::gui {

TargetWeightsButton::TargetWeightsButton(ExplorerSession* session, DomainSliders* sliders, QWidget* parent)
    : QPushButton(tr("Specialist for this text…"), parent),
      m_session(session),
      m_sliders(sliders),
      m_worker(new WeightsWorker(this)),
      m_menu(new QMenu(this)) {
  setObjectName(QStringLiteral("targetWeightsButton"));
  setToolTip(tr("Choose (or drop here) a file or folder of the text you want a specialist for: "
                "the sliders move to its domain weights"));
  setAcceptDrops(true);
  setEnabled(false);
  m_menu->addAction(tr("Fit h through the bank (lowest loss on the text)…"), this,
                    [this] { choose(QStringLiteral("fit")); });
  m_menu->addAction(tr("Histogram of the nearest domains…"), this,
                    [this] { choose(QStringLiteral("histogram")); });
  setMenu(m_menu);
  // While busy the button has no menu, and a click cancels.
  connect(this, &QPushButton::clicked, this, [this] {
    if (m_busy) cancel();
  });
  connect(m_session, &ExplorerSession::bankLoaded, this, [this](const LoadedBank& bank) {
    m_available = bank.can.has_domains;
    setEnabled(m_available || m_busy);
  });
  connect(m_worker, &WeightsWorker::progress, this, [this](const QString& message, int done, int total) {
    if (!m_busy || m_cancelling) return;
    const QString stage = m_stage == QLatin1String("fit") ? tr("Fitting h") : tr("Nearest domains");
    setText(total > 1 ? tr("%1 %2/%3 · Cancel").arg(stage).arg(done).arg(total) : tr("%1… · Cancel").arg(stage));
    setToolTip(message);
  });
  connect(m_worker, &WeightsWorker::finished, this, [this](const souplab::DomainWeights& h, const QString& summary) {
    const bool fitNext = m_stage == QLatin1String("histogram") && m_fitFollows && !m_cancelling;
    QStringList names;
    for (const std::string& n : h.names()) names << QString::fromStdString(n);
    if (names != m_sliders->domains()) {
      setBusy(false);
      Q_EMIT failed(tr("The estimate is over other domains than the sliders' (another bank was loaded)"));
      return;
    }
    // The weights themselves, as one undo step: no round trip through text.
    m_sliders->applyWeights(h.values(), m_stage == QLatin1String("fit") ? tr("Fitted domain weights of this text")
                                                                         : tr("Nearest-domain weights of this text"));
    if (fitNext && startStage(QStringLiteral("fit"))) {
      Q_EMIT estimated(h.values(), summary + tr(" Refining by a fit through the bank…"), false);
      return;
    }
    const bool wasCancelling = m_cancelling;
    setBusy(false);
    if (wasCancelling) Q_EMIT cancelled(tr("Stopped: the sliders keep the nearest domains' weights."));
    else Q_EMIT estimated(h.values(), summary, true);
  });
  connect(m_worker, &WeightsWorker::failed, this, [this](const QString& message) {
    const bool wasCancelling = m_cancelling, histogramFirst = m_stage == QLatin1String("histogram") && m_fitFollows;
    // Without the bank's corpus there is no histogram: the fit alone can still run.
    if (histogramFirst && !wasCancelling && startStage(QStringLiteral("fit"))) return;
    setBusy(false);
    if (wasCancelling) Q_EMIT cancelled(tr("Estimate cancelled: the sliders keep the weights they had."));
    else Q_EMIT failed(message);
  });
}

TargetWeightsButton::~TargetWeightsButton() = default;  // m_worker (a child) cancels and joins

void TargetWeightsButton::choose(const QString& method) {
  const QString path = QFileDialog::getOpenFileName(this, tr("Text to find a specialist for"), QString(),
                                                    tr("Text files (*.txt *.md *.c *.h *.py *.rs *.el);;All files (*)"));
  if (!path.isEmpty()) estimate(path, method);
}

void TargetWeightsButton::estimate(const QString& targetPath, const QString& method) {
  if (m_busy) return;
  const auto bank = m_session->bank();
  if (!bank) {
    Q_EMIT failed(tr("Load a bank first: domain weights are estimated for its domains"));
    return;
  }
  const auto& f = bank->facts();
  const souplab::ModelCapabilities can = bank->capabilities();
  if (!can.has_domains || (method == QLatin1String("fit") && !can.can_fit_weights)) {
    Q_EMIT failed(tr("%1 is a %2 model: fitting domain weights needs a soup bank")
                      .arg(QString::fromStdString(f.path), QString::fromUtf8(souplab::model_kind_name(f.kind))));
    return;
  }
  m_target = targetPath;
  m_fitFollows = method == QLatin1String("fit");
  m_cancelling = false;
  if (startStage(QStringLiteral("histogram"))) Q_EMIT targetChosen(targetPath);
}

bool TargetWeightsButton::startStage(const QString& method) {
  WeightsRequest r;
  r.method = method;
  r.targetPath = m_target;
  r.model = m_session->bank();
  if (!r.model || !m_worker->start(r)) return false;
  m_stage = method;
  setBusy(true);
  return true;
}

void TargetWeightsButton::cancel() {
  if (!m_busy) return;
  m_cancelling = true;
  m_worker->cancel();
  setText(tr("Cancelling…"));
}

void TargetWeightsButton::setBusy(bool busy) {
  m_busy = busy;
  if (!busy) {
    m_stage.clear();
    m_cancelling = false;
  }
  setMenu(busy ? nullptr : m_menu);
  setEnabled(busy || m_available);
  if (busy) setText(m_stage == QLatin1String("fit") ? tr("Fitting h… · Cancel") : tr("Nearest domains… · Cancel"));
  else setText(tr("Specialist for this text…"));
}

void TargetWeightsButton::dragEnterEvent(QDragEnterEvent* event) {
  if (isEnabled() && event->mimeData()->hasUrls() && event->mimeData()->urls().first().isLocalFile())
    event->acceptProposedAction();
}

void TargetWeightsButton::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  event->acceptProposedAction();
  estimate(urls.first().toLocalFile(), QStringLiteral("fit"));
}

}  // namespace souplab::gui
