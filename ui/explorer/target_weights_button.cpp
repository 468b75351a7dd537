#include "ui/explorer/target_weights_button.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QMenu>
#include <QMimeData>
#include <QUrl>

#include "app/glue/inference_worker.h"
#include "app/glue/weights_worker.h"
#include "souplab/model.h"
#include "ui/explorer/domain_sliders.h"

namespace souplab::gui {

TargetWeightsButton::TargetWeightsButton(InferenceWorker* inference, DomainSliders* sliders, QWidget* parent)
    : QPushButton(tr("Specialist for this text…"), parent),
      m_inference(inference),
      m_sliders(sliders),
      m_worker(new WeightsWorker(this)) {
  setObjectName(QStringLiteral("targetWeightsButton"));
  setToolTip(tr("Choose (or drop here) a file or folder of the text you want a specialist for: "
                "the sliders move to its domain weights"));
  setAcceptDrops(true);
  setEnabled(false);
  auto* menu = new QMenu(this);
  menu->addAction(tr("Fit h through the bank (lowest loss on the text)…"), this,
                  [this] { choose(QStringLiteral("fit")); });
  menu->addAction(tr("Histogram of the nearest domains…"), this,
                  [this] { choose(QStringLiteral("histogram")); });
  setMenu(menu);
  connect(m_inference, &InferenceWorker::bankLoaded, this,
          [this](const QString&, const QStringList&, const std::vector<double>&,
                 const souplab::ModelCapabilities& can) {
            setEnabled(can.has_domains && !m_worker->isRunning());
          });
  connect(m_worker, &WeightsWorker::progress, this,
          [this](const QString& message, int, int) { setToolTip(message); });
  connect(m_worker, &WeightsWorker::finished, this, [this](const souplab::DomainWeights& h, const QString& summary) {
    setBusy(false);
    QStringList names;
    for (const std::string& n : h.names()) names << QString::fromStdString(n);
    if (names != m_sliders->domains()) {
      Q_EMIT failed(tr("The estimate is over other domains than the sliders' (another bank was loaded)"));
      return;
    }
    // The weights themselves, as one undo step: no round trip through text.
    m_sliders->applyWeights(h.values(), tr("Domain weights of this text"));
    Q_EMIT estimated(h.values(), summary);
  });
  connect(m_worker, &WeightsWorker::failed, this, [this](const QString& message) {
    setBusy(false);
    Q_EMIT failed(message);
  });
}

TargetWeightsButton::~TargetWeightsButton() = default;  // m_worker (a child) cancels and joins

void TargetWeightsButton::choose(const QString& method) {
  const QString path = QFileDialog::getOpenFileName(this, tr("Text to find a specialist for"), QString(),
                                                    tr("Text files (*.txt *.md *.c *.h *.py *.rs *.el);;All files (*)"));
  if (!path.isEmpty()) estimate(path, method);
}

void TargetWeightsButton::estimate(const QString& targetPath, const QString& method) {
  const auto bank = m_inference->bank();
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
  WeightsRequest r;
  r.method = method;
  r.targetPath = targetPath;
  r.model = bank;
  if (m_worker->start(r)) setBusy(true);
}

void TargetWeightsButton::setBusy(bool busy) {
  setEnabled(!busy);
  setText(busy ? tr("Estimating domain weights…") : tr("Specialist for this text…"));
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
