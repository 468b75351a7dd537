#include "ui/explorer/specialist_explorer.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "app/glue/other_trainings.h"
#include "souplab/device.h"
#include "souplab/paths.h"
#include "ui/explorer/domain_sliders.h"
#include "ui/explorer/generation_panel.h"
#include "ui/explorer/inside_panel.h"
#include "ui/explorer/landscape_panel.h"
#include "ui/explorer/loss_chart.h"
#include "ui/explorer/path_panel.h"
#include "ui/explorer/target_weights_button.h"

namespace souplab::gui {

SpecialistExplorer::SpecialistExplorer(QWidget* parent)
    : QWidget(parent), m_session(new ExplorerSession(this)), m_shown(m_session->frame()) {
  buildLayout();
  connectParts();
}

void SpecialistExplorer::buildLayout() {
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
  auto* header = m_header = new QHBoxLayout;
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
  // Below: the specialist's text, or what it is made of (a soup bank's alpha(h) and distances).
  m_panel = new GenerationPanel(this);
  m_inside = new InsidePanel(this);
  m_path = new PathPanel(m_session, this);
  m_landscape = new LandscapePanel(m_session, this);
  auto* below = new QTabWidget(this);
  below->setObjectName(QStringLiteral("explorerBelowTabs"));
  below->addTab(m_panel, tr("Generated text"));
  below->addTab(m_inside, tr("Inside the soup"));
  below->addTab(m_path, tr("Path A → B"));
  below->addTab(m_landscape, tr("Landscape"));
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(top);
  split->addWidget(below);
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
}

void SpecialistExplorer::connectParts() {
  connect(m_device, qOverload<int>(&QComboBox::activated), this, [this] {
    m_session->setDevice(m_device->currentData().toString());
    if (!m_bankPath.isEmpty()) setBank(m_bankPath);
  });
  connect(m_precision, qOverload<int>(&QComboBox::activated), this, [this] {
    m_session->setPrecision(m_precision->currentData().toString());
    if (!m_bankPath.isEmpty()) setBank(m_bankPath);
  });
  connect(m_session, &ExplorerSession::bankLoaded, this, &SpecialistExplorer::onBankLoaded);
  connect(m_session, &ExplorerSession::frameChanged, this, &SpecialistExplorer::render);
  connect(m_session, &ExplorerSession::errorOccurred, this, &SpecialistExplorer::onError);
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

  connect(m_sliders, &DomainSliders::weightsChanged, m_session, &ExplorerSession::requestWeights);
  // The first bars of a move are computed for the domains on screen only (a page at k = 256).
  connect(m_chart, &LossChart::drawnDomainsChanged, m_session, &ExplorerSession::setQuickDomains);
  connect(m_sliders, &DomainSliders::visibleDomainsChanged, this, [this](const std::vector<int>& view) {
    m_chart->setView(view);
    m_chart->replotNow();
  });
  connect(m_panel, &GenerationPanel::generateRequested, this, &SpecialistExplorer::startGeneration);
  connect(m_panel, &GenerationPanel::stopRequested, this, &SpecialistExplorer::stopGeneration);
  connect(m_export, &QPushButton::clicked, this, [this] { Q_EMIT exportRequested(m_sliders->weights()); });
  connect(m_finetune, &QPushButton::clicked, this, [this] { Q_EMIT finetuneRequested(m_sliders->weights()); });
  connect(m_compare, qOverload<int>(&QComboBox::activated), this, &SpecialistExplorer::onReferenceChosen);
  // "Specialist for this text…": the sliders move to a target text's domain weights, and the
  // text itself becomes a bar of the chart (the specialist vs the reference on it).
  auto* targetWeights = new TargetWeightsButton(m_session, m_sliders, this);
  m_header->insertWidget(1, targetWeights);
  connect(targetWeights, &TargetWeightsButton::failed, this, &SpecialistExplorer::onError);
  const auto say = [this](const QString& s) {
    m_status->setText(s);
    m_status->show();
  };
  connect(targetWeights, &TargetWeightsButton::estimated, this,
          [this, say](const std::vector<double>& h, const QString& s, bool fitted) {
            say(s);
            m_landscape->setEstimate(h, fitted);  // marked on the map
          });
  // A click on the landscape moves the sliders there (one undoable step, like typed weights).
  connect(m_landscape, &LandscapePanel::weightsPicked, m_sliders, &DomainSliders::applyWeights);
  connect(targetWeights, &TargetWeightsButton::cancelled, this, say);
  connect(targetWeights, &TargetWeightsButton::targetChosen, m_session, &ExplorerSession::setTarget);
}

SpecialistExplorer::~SpecialistExplorer() {
  // Stop sampling first (it checks the atomic at the next piece); the WorkerThreads then let
  // their workers finish and delete them once no thread runs them.
  m_generation->stop();
}

void SpecialistExplorer::followCheckpoint(const QString& path, qint64 step) {
  // The run's checkpoints are step_*.ckpt files in its folder, the older ones deleted: "the
  // bank shown" is the run whose folder holds the file shown, at an earlier step.
  const QFileInfo shown(m_bankPath), saved(path);
  if (m_bankPath.isEmpty() || !hasBank() || step <= m_shownStep || !shown.fileName().startsWith(QStringLiteral("step_")) ||
      shown.absolutePath() != saved.absolutePath())
    return;
  m_bankPath = saved.absoluteFilePath();
  m_shownStep = step;
  m_following = true;
  m_facts->setText(tr("Following the training: loading step %1…").arg(step));
  m_session->loadBank(m_bankPath, /*keepTarget=*/true);
}

void SpecialistExplorer::setBank(const QString& path) {
  m_bankPath = path;
  m_following = false;
  m_shownStep = -1;
  m_compare->setEnabled(false);
  m_export->setEnabled(false);
  m_finetune->setEnabled(false);
  m_panel->setAvailable(false);
  m_status->hide();
  m_facts->setText(tr("Loading %1…").arg(path));
  m_referencePath.clear();  // a new bank is compared with its own soup at uniform h first
  m_session->loadBank(path);
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
  if (!candidates.isEmpty() && candidates.front().equalBudget && hasBank()) {
    m_compare->setCurrentIndex(1);
    compareWith(candidates.front().checkpoint);
  }
}

void SpecialistExplorer::refreshBaselines() {
  if (auto bank = m_session->bank(); bank && hasBank())
    setBaselineCandidates(dense_baselines(QString::fromStdString(default_run_log_path()), bank->facts()));
}

void SpecialistExplorer::onReferenceChosen(int index) {
  const QString what = m_compare->itemData(index).toString();
  if (what == QStringLiteral("soup")) {
    m_referencePath.clear();
    m_session->useBankReference();
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
    if (auto bank = m_session->bank()) Q_EMIT trainBaselineRequested(dense_baseline_config(bank->facts()));
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
  m_session->compareWith(path);
}

void SpecialistExplorer::startGeneration() {
  if (!m_shown->specialist) return;
  m_wantText = true;
  m_generation->setSpecialist(m_shown->specialist);
  m_generation->start(m_panel->prompt(), m_panel->options());
}

void SpecialistExplorer::stopGeneration() {
  m_wantText = false;
  m_generation->stop();
  m_panel->setRunning(false);
}

void SpecialistExplorer::onBankLoaded(const LoadedBank& bank) {
  // A newer checkpoint of the run shown keeps what the user set up (same domains only).
  const bool refresh = m_following && bank.domains == m_sliders->domains();
  m_following = false;
  if (!refresh && m_shownStep < 0) {
    const QString name = QFileInfo(m_bankPath).fileName();
    bool ok = false;
    const qint64 step = name.mid(5, name.size() - 10).toLongLong(&ok);  // step_NNNNNNNN.ckpt
    m_shownStep = name.startsWith(QStringLiteral("step_")) && ok ? step : -1;
  }
  m_timing->clear();
  m_latency->clear();
  m_summary->clear();
  m_facts->setText(refresh ? tr("%1 — following the training").arg(bank.summary) : bank.summary);
  m_chart->setDomains(bank.domains);
  if (refresh) {
    m_path->retrace();
    m_landscape->refresh();
  } else {
    m_path->setDomains(bank.domains);
    m_landscape->setDomains(bank.domains);
  }
  m_compare->setEnabled(true);
  m_export->setEnabled(bank.can.can_export);
  m_finetune->setEnabled(bank.can.can_export);  // one dense GPT-2 at h is what gets trained
  if (refresh) {
    m_session->requestWeights(m_sliders->weights());  // the same h, the new weights
  } else {
    // Emits weightsChanged(uniform), which requests the first specialist.
    m_sliders->setDomains(bank.domains, bank.trainingMixture);
  }
  refreshBaselines();  // the dense runs of the run log over these domains, for the reference picker
  if (refresh && !m_referencePath.isEmpty()) m_session->compareWith(m_referencePath);  // the load reset it
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
  Q_EMIT bankLoaded(bank.summary);
}

void SpecialistExplorer::render(const FramePtr& frame) {
  m_shown = frame;
  const ExplorerFrame& f = *frame;
  m_chart->setTarget(f.targetLabel, f.targetSpecialist, f.targetReference);
  m_chart->setSpecialistLosses(f.losses);
  m_chart->setReferenceLosses(f.reference, f.referenceLabel);
  m_chart->setUncertainty(f.diffSe);
  switch (f.tier) {
    case ExplorerFrame::Tier::kNone:
      m_chart->setCaption(QString());
      break;
    case ExplorerFrame::Tier::kQuick:
      m_chart->setCaption(tr("Quick estimate on short windows; the full windows follow."));
      break;
    case ExplorerFrame::Tier::kFull:
      m_chart->setCaption(tr("Full windows; more follow in the background, with error bars."));
      break;
    case ExplorerFrame::Tier::kRefined: {
      const QLocale locale;
      const QString bytes = f.fewestBytes == f.mostBytes
                                ? locale.toString(f.mostBytes)
                                : tr("%1–%2").arg(locale.toString(f.fewestBytes), locale.toString(f.mostBytes));
      m_chart->setCaption(tr("Each pair of bars rests on %1 bytes per domain (%2 windows, the same for both); "
                             "whiskers: ±1 standard error of the specialist's difference from %3. %4")
                              .arg(bytes)
                              .arg(f.refinedWindows)
                              .arg(f.referenceLabel)
                              .arg(f.refinementDone ? tr("Refinement done.") : tr("Refining…")));
      break;
    }
  }
  // The domain table's loss column shows the same pairs as the chart.
  m_sliders->setLosses(f.losses, f.reference);
  m_inside->setInspection(f.inspection);
  m_inside->setMixing(f.mixing);
  m_path->showFrame(frame);
  m_landscape->showFrame(frame);
  renderSummary(f);
  renderTimings(f);
  m_chart->replotNow();
  if (f.change != ExplorerFrame::Change::kSpecialist) return;
  Q_EMIT specialistDisplayed(f.h);
  if (!f.newSpecialist) return;  // the full tier of a specialist already shown: the text is unchanged
  m_panel->setAvailable(true);
  // Restarts a running generation with the new model; "follow h" also restarts a finished one.
  m_generation->setSpecialist(f.specialist);
  if (m_wantText && !m_generation->isActive() && m_panel->followsWeights())
    m_generation->start(m_panel->prompt(), m_panel->options());
}

void SpecialistExplorer::renderSummary(const ExplorerFrame& f) {
  if (!f.hasMixture) {
    m_summary->clear();
    return;
  }
  QString text = tr("On h's mixture: specialist %1 vs %2 %3 nats/byte: %4%5 %")
                     .arg(f.mixtureSpecialist, 0, 'f', 4)
                     .arg(f.referenceLabel)
                     .arg(f.mixtureReference, 0, 'f', 4)
                     .arg(f.mixtureChange > 0 ? QStringLiteral("+") : QString())
                     .arg(100.0 * f.mixtureChange, 0, 'f', 2);
  if (std::isfinite(f.mixtureChangeSe)) {
    text += tr(" ± %1 % (1 standard error)").arg(100.0 * f.mixtureChangeSe, 0, 'f', 2);
    // Within two standard errors of zero, the difference may well be noise: say so.
    if (std::abs(f.mixtureChange) < 2 * f.mixtureChangeSe) text += tr(", not distinguishable from noise yet");
  }
  m_summary->setText(text);
}

void SpecialistExplorer::renderTimings(const ExplorerFrame& f) {
  if (f.change != ExplorerFrame::Change::kSpecialist) return;  // the costs of the bars' first display
  const bool full = f.tier != ExplorerFrame::Tier::kQuick;
  m_timing->setText(f.losses.empty()
                        ? tr("instantiated in %1 ms · no validation data").arg(f.instantiateMs, 0, 'f', 1)
                        : tr("instantiated in %1 ms · evaluated in %2 ms (%3)")
                              .arg(f.instantiateMs, 0, 'f', 1)
                              .arg(f.evalMs, 0, 'f', 1)
                              .arg(full ? tr("full windows") : tr("quick estimate")));
  if (f.latencySamples == 0) return;
  QString text = tr("slider → screen %1 ms (median %2 ms, n=%3)")
                     .arg(f.lastLatencyMs, 0, 'f', 1)
                     .arg(f.medianLatencyMs, 0, 'f', 1)
                     .arg(f.latencySamples);
  if (f.twoTiers && f.medianFullLatencyMs >= 0)
    text += tr(" · full windows: median %1 ms").arg(f.medianFullLatencyMs, 0, 'f', 1);
  m_latency->setText(text);
}

void SpecialistExplorer::onError(const QString& message) {
  m_status->setText(message);
  m_status->show();
  if (!hasBank()) m_facts->setText(tr("No bank loaded"));
  Q_EMIT errorOccurred(message);
}

}  // namespace souplab::gui
