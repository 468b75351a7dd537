#include "ui/explorer/specialist_explorer.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMetaObject>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "app/glue/other_trainings.h"
#include "souplab/device.h"
#include "souplab/loss_estimate.h"
#include "souplab/paths.h"
#include "ui/explorer/domain_sliders.h"
#include "ui/explorer/generation_panel.h"
#include "ui/explorer/loss_chart.h"
#include "ui/explorer/target_weights_button.h"

namespace souplab::gui {

SpecialistExplorer::SpecialistExplorer(QWidget* parent) : QWidget(parent) {
  m_clock.start();

  // --- widgets
  m_facts = new QLabel(tr("No bank loaded"), this);
  m_facts->setObjectName(QStringLiteral("factsLabel"));
  m_facts->setWordWrap(true);
  m_facts->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // The grey bars' model: the soup at uniform h, a dense run of the run log (equal budget
  // first), any model file, or a dense baseline trained now with this bank's budget.
  m_compare = new QComboBox(this);
  m_compare->setObjectName(QStringLiteral("referenceCombo"));
  m_compare->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_compare->setMinimumContentsLength(18);
  m_compare->setToolTip(tr("The reference bars: compare the specialist with an equal-budget dense model, "
                           "the soup at uniform h, or any model"));
  m_export = new QPushButton(tr("Export specialist…"), this);
  m_export->setObjectName(QStringLiteral("exportButton"));
  m_finetune = new QPushButton(tr("Fine-tune on a text…"), this);
  m_finetune->setObjectName(QStringLiteral("finetuneButton"));
  m_finetune->setToolTip(tr("Train the specialist on the sliders further on a text of yours, then export it"));
  // Where the explorer's models live: every device found, "auto" (a GPU when there is one) first.
  m_device = new QComboBox(this);
  m_device->setObjectName(QStringLiteral("explorerDevice"));
  m_device->setToolTip(tr("Where the specialists are instantiated and evaluated (a change reloads the bank there)"));
  m_device->addItem(tr("auto"), QStringLiteral("auto"));
  for (const std::string& d : souplab::available_devices())
    m_device->addItem(QString::fromStdString(d), QString::fromStdString(d));
  connect(m_device, qOverload<int>(&QComboBox::activated), this, [this] {
    m_inference->setDevice(m_device->currentData().toString());
    if (!m_bankPath.isEmpty()) setBank(m_bankPath);
  });
  // What the specialists run in (Model::load's precision): the bank stays float32 either way.
  m_precision = new QComboBox(this);
  m_precision->setObjectName(QStringLiteral("explorerPrecision"));
  m_precision->setToolTip(tr("What the specialists and the reference run in: bf16 and fp16 halve their memory and "
                             "are faster on GPUs (no faster on the CPU); the bank stays float32 and exports stay "
                             "float32 (a change reloads the bank)"));
  m_precision->addItem(QStringLiteral("fp32"), QStringLiteral("fp32"));
  m_precision->addItem(QStringLiteral("bf16"), QStringLiteral("bf16"));
  if (souplab::cuda_available())  // fp16 runs on CUDA devices only
    m_precision->addItem(QStringLiteral("fp16"), QStringLiteral("fp16"));
  connect(m_precision, qOverload<int>(&QComboBox::activated), this, [this] {
    m_inference->setPrecision(m_precision->currentData().toString());
    if (!m_bankPath.isEmpty()) setBank(m_bankPath);
  });
  auto* header = new QHBoxLayout;
  header->addWidget(m_facts, 1);
  header->addWidget(m_device);
  header->addWidget(m_precision);
  header->addWidget(m_compare);
  header->addWidget(m_export);
  header->addWidget(m_finetune);

  m_sliders = new DomainSliders(this);
  m_sliders->setObjectName(QStringLiteral("domainSliders"));
  m_chart = new LossChart(this);
  m_timing = new QLabel(this);
  m_timing->setObjectName(QStringLiteral("timingLabel"));
  m_latency = new QLabel(this);
  m_latency->setObjectName(QStringLiteral("latencyLabel"));
  m_latency->setToolTip(tr("From a slider move to this chart repainted with its losses"));
  // Status lines wrap in the width they get instead of widening the window (a long line once
  // pushed the window past the screen's edge).
  for (QLabel* label : {m_timing, m_latency}) label->setWordWrap(true);
  m_summary = new QLabel(this);
  m_summary->setObjectName(QStringLiteral("summaryLabel"));
  m_summary->setWordWrap(true);
  m_summary->setToolTip(tr("The specialist's loss on h's own mixture of domains (sum of h_i x loss_i) "
                           "against the reference bars' model on the same mixture"));
  auto* chartBox = new QWidget(this);
  auto* chartLayout = new QVBoxLayout(chartBox);
  chartLayout->setContentsMargins(0, 0, 0, 0);
  chartLayout->addWidget(m_summary);
  chartLayout->addWidget(m_chart, 1);
  auto* timings = new QHBoxLayout;
  timings->addWidget(m_timing, 1);
  timings->addWidget(m_latency);
  chartLayout->addLayout(timings);

  auto* top = new QSplitter(Qt::Horizontal, this);
  m_top = top;
  top->addWidget(m_sliders);
  top->addWidget(chartBox);
  // The sliders take the width a row needs, the chart everything else (its bars need it most).
  top->setStretchFactor(0, 0);
  top->setStretchFactor(1, 1);
  top->setChildrenCollapsible(false);  // the slider panel keeps its minimum: every % box stays in view
  m_panel = new GenerationPanel(this);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(top);
  split->addWidget(m_panel);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("statusLabel"));
  m_status->setWordWrap(true);
  m_status->setStyleSheet(QStringLiteral("color: #b00020"));
  m_status->hide();

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(header);
  layout->addWidget(split, 1);
  layout->addWidget(m_status);
  m_compare->setEnabled(false);
  m_export->setEnabled(false);
  m_finetune->setEnabled(false);
  setBaselineCandidates({});

  // Worker -> GUI connections are queued (the workers live on other threads).
  connect(m_inference.get(), &InferenceWorker::bankLoaded, this, &SpecialistExplorer::onBankLoaded);
  connect(m_inference.get(), &InferenceWorker::specialistReady, this,
          &SpecialistExplorer::onSpecialistReady);
  connect(m_inference.get(), &InferenceWorker::refinedLosses, this, &SpecialistExplorer::onRefined);
  connect(m_inference.get(), &InferenceWorker::referenceReady, this,
          [this](const std::vector<double>& losses, const QString& label, bool precise) {
            (precise ? m_referenceFull : m_referenceQuick) = losses;
            m_referenceLabel = label;
            // A new reference is paired from the first windows again: back to the specialist's
            // full-tier bars until the refinement against it comes in.
            if (precise && m_displayedPrecise && !m_preciseLosses.empty()) {
              m_displayedLosses = m_preciseLosses;
              m_chart->setSpecialistLosses(m_preciseLosses);
              m_displayedSe.clear();
              m_chart->setUncertainty({});
            }
            // Redraw at once with the tier now on screen (only a precise one before any
            // specialist, so that the chart is never blank while the first one is computed).
            if (precise == m_displayedPrecise || m_displayed.empty()) showReference(precise);
            updateSummary();
            m_chart->replotNow();
          });
  connect(m_inference.get(), &InferenceWorker::errorOccurred, this, &SpecialistExplorer::onError);
  connect(m_generation.get(), &GenerationWorker::errorOccurred, this, &SpecialistExplorer::onError);
  connect(m_generation.get(), &GenerationWorker::started, this, [this](quint64 run) {
    m_currentRun = run;
    m_panel->clearOutput();
    m_panel->setRunning(true);
  });
  connect(m_generation.get(), &GenerationWorker::pieceReady, this, [this](quint64 run, const QString& piece) {
    if (run == m_currentRun) m_panel->appendPiece(piece);  // stragglers of a cancelled run: dropped
  });
  connect(m_generation.get(), &GenerationWorker::finished, this, [this](quint64 run, bool) {
    if (run == m_currentRun && !m_generation->isActive()) m_panel->setRunning(false);
  });

  connect(m_sliders, &DomainSliders::weightsChanged, this, &SpecialistExplorer::onWeightsChanged);
  // The first bars of a move are computed for the domains on screen only (a page at k = 256).
  connect(m_chart, &LossChart::drawnDomainsChanged, this,
          [this](const std::vector<int>& domains) { m_inference->setQuickDomains(domains); });
  connect(m_sliders, &DomainSliders::visibleDomainsChanged, this, [this](const std::vector<int>& view) {
    m_chart->setView(view);
    m_chart->replotNow();
  });
  connect(m_panel, &GenerationPanel::generateRequested, this, &SpecialistExplorer::startGeneration);
  connect(m_panel, &GenerationPanel::stopRequested, this, &SpecialistExplorer::stopGeneration);
  connect(m_export, &QPushButton::clicked, this,
          [this] { Q_EMIT exportRequested(m_sliders->weights()); });
  connect(m_finetune, &QPushButton::clicked, this,
          [this] { Q_EMIT finetuneRequested(m_sliders->weights()); });
  connect(m_compare, qOverload<int>(&QComboBox::activated), this, &SpecialistExplorer::onReferenceChosen);
  // "Specialist for this text…": the sliders move to a target text's domain weights.
  auto* targetWeights = new TargetWeightsButton(m_inference.get(), m_sliders, this);
  header->insertWidget(1, targetWeights);
  connect(targetWeights, &TargetWeightsButton::failed, this, &SpecialistExplorer::onError);
  const auto say = [this](const QString& s) {
    m_status->setText(s);
    m_status->show();
  };
  connect(targetWeights, &TargetWeightsButton::estimated, this,
          [say](const std::vector<double>&, const QString& s, bool) { say(s); });
  connect(targetWeights, &TargetWeightsButton::cancelled, this, say);
  // The text itself becomes a bar of the chart: the specialist vs the reference on it.
  connect(targetWeights, &TargetWeightsButton::targetChosen, this, [this](const QString& path) {
    InferenceWorker* worker = m_inference.get();
    QMetaObject::invokeMethod(worker, [worker, path] { worker->setTarget(path); }, Qt::QueuedConnection);
  });
  connect(m_inference.get(), &InferenceWorker::targetLosses, this,
          [this](quint64 generation, const QString& label, double mine, double reference) {
            if (!label.isEmpty() && generation != m_displayedGeneration) return;  // an h no longer shown
            m_chart->setTarget(label, mine, reference);
            m_chart->replotNow();
          });
}

SpecialistExplorer::~SpecialistExplorer() {
  // Stop sampling first (it checks the atomic at the next piece); the WorkerThreads then let
  // their workers finish and delete them once no thread runs them.
  m_generation->stop();
}

void SpecialistExplorer::setBank(const QString& path) {
  m_bankPath = path;
  m_hasBank = false;
  m_compare->setEnabled(false);
  m_export->setEnabled(false);
  m_finetune->setEnabled(false);
  m_panel->setAvailable(false);
  m_status->hide();
  m_facts->setText(tr("Loading %1…").arg(path));
  m_referencePath.clear();  // a new bank is compared with its own soup at uniform h first
  InferenceWorker* worker = m_inference.get();
  QMetaObject::invokeMethod(worker, [worker, path] { worker->loadBank(path); }, Qt::QueuedConnection);
}

void SpecialistExplorer::setBaselineCandidates(const QVector<BaselineCandidate>& candidates) {
  QSignalBlocker block(m_compare);
  m_compare->clear();
  m_compare->addItem(tr("vs soup at uniform h"), QStringLiteral("soup"));
  for (const BaselineCandidate& c : candidates) m_compare->addItem(tr("vs %1").arg(c.label()), c.checkpoint);
  m_compare->addItem(tr("vs another model…"), QStringLiteral("file"));
  m_compare->addItem(tr("Train a dense baseline like this bank…"), QStringLiteral("train"));
  m_compare->setCurrentIndex(0);
  // A model chosen already (the picker, or --compare before the bank was up) stays chosen.
  if (!m_referencePath.isEmpty()) {
    showReferencePath(m_referencePath);
    return;
  }
  // An equal-budget dense run is the comparison that answers "is the specialist worth it?".
  if (!candidates.isEmpty() && candidates.front().equalBudget && m_hasBank) {
    m_compare->setCurrentIndex(1);
    compareWith(candidates.front().checkpoint);
  }
}

void SpecialistExplorer::refreshBaselines() {
  if (auto bank = m_inference->bank(); bank && m_hasBank)
    setBaselineCandidates(dense_baselines(QString::fromStdString(default_run_log_path()), bank->facts()));
}

void SpecialistExplorer::onReferenceChosen(int index) {
  const QString what = m_compare->itemData(index).toString();
  if (what == QStringLiteral("soup")) {
    m_referencePath.clear();
    InferenceWorker* worker = m_inference.get();
    QMetaObject::invokeMethod(worker, [worker] { worker->useBankReference(); }, Qt::QueuedConnection);
  } else if (what == QStringLiteral("file")) {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Compare with a model"), QString(),
        tr("Checkpoints and specialists (*.ckpt *.safetensors);;All files (*)"));
    if (!path.isEmpty()) {
      compareWith(path);
    } else if (m_referencePath.isEmpty()) {  // cancelled: the picker shows the reference again
      QSignalBlocker block(m_compare);
      m_compare->setCurrentIndex(0);
    } else {
      showReferencePath(m_referencePath);
    }
  } else if (what == QStringLiteral("train")) {
    if (auto bank = m_inference->bank()) Q_EMIT trainBaselineRequested(dense_baseline_config(bank->facts()));
  } else {
    compareWith(what);
  }
}

void SpecialistExplorer::showReferencePath(const QString& path) {
  QSignalBlocker block(m_compare);
  int i = m_compare->findData(path);
  if (i < 0) {  // not a run of the log: an entry of its own, before "vs another model…"
    i = std::max(1, m_compare->findData(QStringLiteral("file")));
    m_compare->insertItem(i, tr("vs %1").arg(QFileInfo(path).fileName()), path);
  }
  m_compare->setCurrentIndex(i);
}

void SpecialistExplorer::compareWith(const QString& path) {
  // The picker names what the bars are compared with, whoever asked (the picker, --compare).
  m_referencePath = path;
  showReferencePath(path);
  InferenceWorker* worker = m_inference.get();
  QMetaObject::invokeMethod(worker, [worker, path] { worker->loadReference(path); },
                            Qt::QueuedConnection);
}

void SpecialistExplorer::startGeneration() {
  if (!m_specialist) return;
  m_wantText = true;
  m_generation->setSpecialist(m_specialist);
  m_generation->start(m_panel->prompt(), m_panel->options());
}

void SpecialistExplorer::stopGeneration() {
  m_wantText = false;
  m_generation->stop();
  m_panel->setRunning(false);
}

void SpecialistExplorer::onBankLoaded(const QString& summary, const QStringList& domains,
                                      const std::vector<double>& trainingMixture,
                                      const souplab::ModelCapabilities& can) {
  m_hasBank = true;
  m_displayed.clear();
  m_specialist.reset();
  m_requestedAtNs.clear();
  // Latency is a figure of one bank (its size sets it): start counting afresh.
  m_latenciesMs.clear();
  m_preciseLatenciesMs.clear();
  m_preciseFrom = {};
  m_timing->clear();
  m_latency->clear();
  m_summary->clear();
  m_facts->setText(summary);
  m_chart->setDomains(domains);
  m_referenceQuick.clear();
  m_referenceFull.clear();
  m_referenceLabel = tr("soup at uniform h");
  m_displayedPrecise = false;
  m_sawQuick = false;
  m_compare->setEnabled(true);
  m_export->setEnabled(can.can_export);
  m_finetune->setEnabled(can.can_export);  // one dense GPT-2 at h is what gets trained
  // Emits weightsChanged(uniform), which requests the first specialist.
  m_sliders->setDomains(domains, trainingMixture);
  refreshBaselines();  // the dense runs of the run log over these domains, for the reference picker
  const QString busy = other_trainings_warning(QString::fromStdString(default_run_log_path()),
                                               QCoreApplication::applicationPid());
  if (!busy.isEmpty()) {
    m_status->setText(busy);
    m_status->show();
  }
  // The sliders as narrow as their rows allow (the splitter keeps that minimum), the chart the rest.
  const int total = m_top->width();
  const int sliders = m_sliders->minimumSizeHint().width();
  if (total > sliders) m_top->setSizes({sliders, total - sliders});
  Q_EMIT bankLoaded(summary);
}

void SpecialistExplorer::onWeightsChanged(const std::vector<double>& h) {
  if (!m_hasBank) return;
  const qint64 now = m_clock.nsecsElapsed();
  m_requestedAtNs[m_inference->requestWeights(h)] = now;
}

void SpecialistExplorer::showReference(bool precise) {
  // Bars side by side must come from the same windows: the quick reference with a quick
  // specialist, the full one with a precise one.
  m_displayedReference = precise ? m_referenceFull : m_referenceQuick;
  m_chart->setReferenceLosses(m_displayedReference, m_referenceLabel);
}

void SpecialistExplorer::onRefined(quint64 generation, const RefinedLosses& refined) {
  // Only for the bars on screen: a round of an earlier h arriving late is dropped.
  if (generation != m_displayedGeneration || !m_displayedPrecise || refined.specialist.size() != m_displayed.size())
    return;
  m_displayedLosses = refined.specialist;
  m_displayedReference = refined.reference;
  m_displayedSe = refined.diffSe;
  m_chart->setSpecialistLosses(refined.specialist);
  m_chart->setReferenceLosses(refined.reference, m_referenceLabel);
  m_chart->setUncertainty(refined.diffSe);
  const auto [fewest, most] = std::minmax_element(refined.bytes.begin(), refined.bytes.end());
  const QLocale locale;
  QString bytes = fewest == refined.bytes.end() ? QString()
                  : *fewest == *most              ? locale.toString(*most)
                                                  : tr("%1–%2").arg(locale.toString(*fewest), locale.toString(*most));
  m_chart->setCaption(tr("Each pair of bars rests on %1 bytes per domain (%2 windows, the same for both); "
                         "whiskers: ±1 standard error of the specialist's difference from %3. %4")
                          .arg(bytes)
                          .arg(refined.windows)
                          .arg(m_referenceLabel)
                          .arg(refined.final ? tr("Refinement done.") : tr("Refining…")));
  updateSummary();
  m_chart->replotNow();
}

void SpecialistExplorer::onSpecialistReady(quint64 generation, const std::vector<double>& h,
                                           const std::vector<double>& losses, double instantiateMs,
                                           double evalMs, SpecialistPtr specialist, bool precise) {
  const bool sameSpecialist = specialist == m_specialist;
  // The target's bar was the previous specialist's: blank until this one's arrives (precise).
  if (!sameSpecialist && !m_chart->targetLabel().isEmpty())
    m_chart->setTarget(m_chart->targetLabel(), std::numeric_limits<double>::quiet_NaN(), m_chart->targetReference());
  m_displayed = h;
  m_displayedPrecise = precise;
  m_sawQuick = m_sawQuick || !precise;
  m_specialist = specialist;
  m_displayedGeneration = generation;
  m_chart->setSpecialistLosses(losses);
  m_chart->setUncertainty({});
  m_chart->setCaption(precise ? tr("Full windows; more follow in the background, with error bars.")
                              : tr("Quick estimate on short windows; the full windows follow."));
  m_displayedLosses = losses;
  m_displayedSe.clear();
  if (precise) m_preciseLosses = losses;
  showReference(precise);
  updateSummary();
  m_chart->replotNow();
  m_timing->setText(losses.empty()
                        ? tr("instantiated in %1 ms · no validation data").arg(instantiateMs, 0, 'f', 1)
                        : tr("instantiated in %1 ms · evaluated in %2 ms (%3)")
                              .arg(instantiateMs, 0, 'f', 1)
                              .arg(evalMs, 0, 'f', 1)
                              .arg(precise ? tr("full windows") : tr("quick estimate")));
  // Latency of the first display of a request (quick or, with one tier, precise); and of the
  // precise display, the figure a user sees once the slider rests.
  auto it = m_requestedAtNs.find(generation);
  const qint64 now = m_clock.nsecsElapsed();
  if (it != m_requestedAtNs.end()) {
    m_latenciesMs.push_back(double(now - it->second) / 1e6);
    m_preciseFrom = {generation, it->second};
  }
  if (precise && m_preciseFrom.first == generation) {
    m_preciseLatenciesMs.push_back(double(now - m_preciseFrom.second) / 1e6);
    m_preciseFrom = {};
  }
  updateLatencyLabel();
  // Requests up to this one are answered or were dropped by coalescing.
  m_requestedAtNs.erase(m_requestedAtNs.begin(), m_requestedAtNs.upper_bound(generation));
  Q_EMIT specialistDisplayed(h);
  // The precise pass of a specialist already shown: the model (and so the text) is unchanged.
  if (sameSpecialist) return;

  m_panel->setAvailable(true);
  // Restarts a running generation with the new model; "follow h" also restarts a finished one.
  m_generation->setSpecialist(specialist);
  if (m_wantText && !m_generation->isActive() && m_panel->followsWeights())
    m_generation->start(m_panel->prompt(), m_panel->options());
}

void SpecialistExplorer::updateSummary() {
  const std::vector<double>& ref = m_displayedReference;
  const std::vector<double>& h = m_displayed;
  // The domain table's loss column shows the same pairs as the chart.
  m_sliders->setLosses(m_displayedLosses, ref);
  if (h.empty() || m_displayedLosses.size() != h.size() || ref.size() != h.size()) {
    m_summary->clear();
    return;
  }
  double mine = 0, theirs = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    mine += h[i] * m_displayedLosses[i];
    theirs += h[i] * ref[i];
  }
  m_mixtureChange = theirs > 0 ? (mine - theirs) / theirs : 0;
  // The domains' differences are independent estimates: their h-weighted sum has SE
  // sqrt(sum h_d^2 se_d^2) (souplab::weighted_se); unknown until a refined round.
  m_mixtureChangeSe = m_displayedSe.size() == h.size() && theirs > 0
                          ? souplab::weighted_se(h, m_displayedSe) / theirs
                          : std::numeric_limits<double>::quiet_NaN();
  QString text = tr("On h's mixture: specialist %1 vs %2 %3 nats/byte: %4%5 %")
                     .arg(mine, 0, 'f', 4)
                     .arg(m_referenceLabel)
                     .arg(theirs, 0, 'f', 4)
                     .arg(m_mixtureChange > 0 ? QStringLiteral("+") : QString())
                     .arg(100.0 * m_mixtureChange, 0, 'f', 2);
  if (std::isfinite(m_mixtureChangeSe)) {
    text += tr(" ± %1 % (1 standard error)").arg(100.0 * m_mixtureChangeSe, 0, 'f', 2);
    // Within two standard errors of zero, the difference may well be noise: say so.
    if (std::abs(m_mixtureChange) < 2 * m_mixtureChangeSe) text += tr(", not distinguishable from noise yet");
  }
  m_summary->setText(text);
}

void SpecialistExplorer::onError(const QString& message) {
  m_status->setText(message);
  m_status->show();
  if (!m_hasBank) m_facts->setText(tr("No bank loaded"));
  Q_EMIT errorOccurred(message);
}

double SpecialistExplorer::medianLatencyMs() const { return median(m_latenciesMs); }

double SpecialistExplorer::medianPreciseLatencyMs() const { return median(m_preciseLatenciesMs); }

double SpecialistExplorer::median(std::vector<double> sorted) {
  if (sorted.empty()) return -1.0;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

void SpecialistExplorer::updateLatencyLabel() {
  if (m_latenciesMs.empty()) return;
  QString text = tr("slider → screen %1 ms (median %2 ms, n=%3)")
                     .arg(lastLatencyMs(), 0, 'f', 1)
                     .arg(medianLatencyMs(), 0, 'f', 1)
                     .arg(latencySamples());
  if (m_sawQuick && !m_preciseLatenciesMs.empty())
    text += tr(" · full windows: median %1 ms").arg(medianPreciseLatencyMs(), 0, 'f', 1);
  m_latency->setText(text);
}

}  // namespace souplab::gui
