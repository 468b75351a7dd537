#include "ui/explorer/target_weights_button.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QMenu>
#include <QMimeData>
#include <QUrl>

#include "app/glue/inference_worker.h"
#include "app/glue/weights_worker.h"
#include "engine/nn/bank.h"
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
          [this](const QString&, const QStringList& domains, const std::vector<double>&) {
            setEnabled(!domains.isEmpty() && !m_worker->isRunning());
          });
  connect(m_worker, &WeightsWorker::progress, this,
          [this](const QString& message, int, int) { setToolTip(message); });
  connect(m_worker, &WeightsWorker::finished, this, [this](const std::vector<double>& h, const QString& summary) {
    setBusy(false);
    QStringList parts;
    for (double w : h) parts << QString::number(w, 'f', 6);
    if (int(h.size()) != m_sliders->domains().size()) {
      Q_EMIT failed(tr("The estimate has %1 weights but the sliders %2 domains (another bank was loaded)")
                        .arg(h.size()).arg(m_sliders->domains().size()));
      return;
    }
    m_sliders->applyText(parts.join(QLatin1Char(',')));
    Q_EMIT estimated(h, summary);
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
  if (f.domains.empty() || (method == QLatin1String("fit") && f.kind != "soup")) {
    Q_EMIT failed(tr("%1 is a %2 model: fitting domain weights needs a soup bank")
                      .arg(QString::fromStdString(f.path), QString::fromStdString(f.kind)));
    return;
  }
  WeightsRequest r;
  r.method = method;
  r.targetPath = targetPath;
  r.bankPath = QString::fromStdString(f.path);
  r.corpusDir = QString::fromStdString(f.corpus_dir);
  r.cacheDir = QString::fromStdString(f.cache_dir);
  r.blockSize = f.config.model.block_size;
  r.device = QString::fromStdString(f.device);
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
