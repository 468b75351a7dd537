#include "ui/training/training_monitor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSplitter>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>
#include <utility>

#include "app/glue/baseline_runs.h"
#include "souplab/run_log.h"
#include "souplab/paths.h"
#include "ui/training/loss_plot.h"
#include "ui/training/new_run_dialog.h"

namespace souplab::gui {

namespace {
const QString kTrainKey = QStringLiteral("train");
QString uniformKey(const QString& domain) { return QStringLiteral("u:") + domain; }
QString specialistKey(const QString& domain) { return QStringLiteral("s:") + domain; }

QString formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
  const auto s = static_cast<qint64>(seconds + 0.5);
  if (s >= 3600) return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
  if (s >= 60) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
  return QStringLiteral("%1 s").arg(s);
}
}  // namespace

TrainingMonitor::TrainingMonitor(QWidget* parent) : QWidget(parent) {
  m_session = new TrainingSession(this);
  buildUi();
  connect(m_session, &TrainingSession::started, this, &TrainingMonitor::onStarted);
  connect(m_session, &TrainingSession::stepProgress, this, &TrainingMonitor::onProgress);
  connect(m_session, &TrainingSession::evaluated, this, &TrainingMonitor::onEvaluated);
  connect(m_session, &TrainingSession::checkpointSaved, this, &TrainingMonitor::onCheckpoint);
  connect(m_session, &TrainingSession::message, this, &TrainingMonitor::appendLog);
  connect(m_session, &TrainingSession::pausedChanged, this, [this](bool paused) {
    if (m_state == State::Running || m_state == State::Paused)
      setState(paused ? State::Paused : State::Running);
  });
  connect(m_session, &TrainingSession::finished, this, &TrainingMonitor::onFinished);
  connect(m_session, &TrainingSession::failed, this, &TrainingMonitor::onFailed);
  setState(State::Idle);
}

TrainingMonitor::~TrainingMonitor() { m_session->stopAndWait(); }

void TrainingMonitor::buildUi() {
  m_trainPlot = new LossPlot(tr("Training loss"), this);
  m_trainPlot->addSeries(kTrainKey, tr("train loss"), QColor(40, 40, 40));
  m_valPlot = new LossPlot(tr("Validation loss per domain (solid: uniform h, dashed: specialist)"),
                           this);
  m_valPlot->placeLegendOutside();
  auto* plots = new QSplitter(Qt::Vertical, this);
  plots->addWidget(m_trainPlot);
  plots->addWidget(m_valPlot);
  plots->setStretchFactor(0, 2);
  plots->setStretchFactor(1, 3);

  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(2000);
  m_log->setMaximumHeight(90);
  m_log->setPlaceholderText(tr("Messages from the trainer appear here."));

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(buildControls());
  layout->addWidget(plots, 1);
  layout->addWidget(m_log);
}

QWidget* TrainingMonitor::buildControls() {
  auto* box = new QWidget(this);
  m_newButton = new QPushButton(tr("New run…"), box);
  m_resumeRunButton = new QPushButton(tr("Resume run…"), box);
  m_pauseButton = new QPushButton(tr("Pause"), box);
  m_stopButton = new QPushButton(tr("Stop"), box);
  m_stopButton->setToolTip(tr("Save a checkpoint and stop; the run can be resumed later"));
  m_openButton = new QPushButton(tr("Open in explorer"), box);
  m_openButton->setToolTip(tr("Explore the latest checkpoint of this run"));
  m_exportButton = new QPushButton(tr("Export…"), box);
  m_exportButton->setToolTip(tr("Save the plots as PNG or PDF and their data as CSV"));

  m_progress = new QProgressBar(box);
  m_progress->setFormat(tr("step %v / %m"));
  m_statusLabel = new QLabel(box);
  m_speedLabel = new QLabel(box);
  m_etaLabel = new QLabel(box);

  m_smoothing = new QSlider(Qt::Horizontal, box);
  m_smoothing->setRange(0, 99);
  m_smoothing->setValue(QSettings().value("monitor/smoothing", 60).toInt());
  m_smoothing->setMaximumWidth(160);
  m_smoothingLabel = new QLabel(box);
  m_logScale = new QCheckBox(tr("Log scale"), box);
  m_valView = new QComboBox(box);
  m_valView->addItems({tr("Uniform h and specialists"), tr("Uniform h only"),
                       tr("Specialists only")});

  auto* row1 = new QHBoxLayout;
  for (QPushButton* b : {m_newButton, m_resumeRunButton, m_pauseButton, m_stopButton})
    row1->addWidget(b);
  row1->addWidget(m_progress, 1);
  row1->addWidget(m_etaLabel);
  row1->addWidget(m_speedLabel);
  auto* row2 = new QHBoxLayout;
  row2->addWidget(m_statusLabel, 1);
  row2->addWidget(new QLabel(tr("Smoothing"), box));
  row2->addWidget(m_smoothing);
  row2->addWidget(m_smoothingLabel);
  row2->addWidget(m_logScale);
  row2->addWidget(m_valView);
  row2->addWidget(m_exportButton);
  row2->addWidget(m_openButton);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row1);
  layout->addLayout(row2);

  connect(m_newButton, &QPushButton::clicked, this, &TrainingMonitor::newRun);
  connect(m_resumeRunButton, &QPushButton::clicked, this, &TrainingMonitor::resumeRun);
  connect(m_pauseButton, &QPushButton::clicked, this,
          [this] { m_state == State::Paused ? resume() : pause(); });
  connect(m_stopButton, &QPushButton::clicked, this, &TrainingMonitor::stop);
  connect(m_openButton, &QPushButton::clicked, this,
          [this] { Q_EMIT openInExplorerRequested(m_lastCheckpoint); });
  connect(m_exportButton, &QPushButton::clicked, this, &TrainingMonitor::exportPlots);
  connect(m_smoothing, &QSlider::valueChanged, this, [this](int v) {
    setSmoothing(v / 100.0);
    QSettings().setValue("monitor/smoothing", v);
  });
  connect(m_logScale, &QCheckBox::toggled, this, [this](bool on) {
    m_trainPlot->setLogScale(on);
    m_valPlot->setLogScale(on);
  });
  connect(m_valView, &QComboBox::currentIndexChanged, this,
          &TrainingMonitor::applyValidationView);
  setSmoothing(m_smoothing->value() / 100.0);
  return box;
}

void TrainingMonitor::setSmoothing(double weight) {
  m_smoothingLabel->setText(QString::number(weight, 'f', 2));
  if (m_smoothing->value() != qRound(weight * 100)) m_smoothing->setValue(qRound(weight * 100));
  m_trainPlot->setSmoothing(weight);
  // Validation points are few and already averages: smooth them less.
  m_valPlot->setSmoothing(weight * 0.5);
}

void TrainingMonitor::setValidationView(int index) { m_valView->setCurrentIndex(index); }

void TrainingMonitor::setState(State state) {
  m_state = state;
  const bool active = state == State::Preparing || state == State::Running ||
                      state == State::Paused;
  m_newButton->setEnabled(!active);
  m_resumeRunButton->setEnabled(!active);
  m_pauseButton->setEnabled(state == State::Running || state == State::Paused);
  m_pauseButton->setText(state == State::Paused ? tr("Resume") : tr("Pause"));
  m_stopButton->setEnabled(active);
  m_openButton->setEnabled(!m_lastCheckpoint.isEmpty());
  static const char* kNames[] = {"Idle: start a new run or resume one",
                                 "Preparing the corpus and the model…", "Training",
                                 "Paused", "Finished", "Stopped (checkpoint saved)", "Failed"};
  QString text = tr(kNames[static_cast<int>(state)]);
  if (m_runId > 0 && state != State::Idle) text = tr("Run %1: %2").arg(m_runId).arg(text);
  m_statusLabel->setText(text);
  Q_EMIT stateChanged(state);
}

void TrainingMonitor::appendLog(const QString& text) {
  m_log->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss  ")) + text);
}

bool TrainingMonitor::startRun(TrainRequest request) {
  if (m_session->isRunning()) {
    appendLog(tr("A run is still going: stop it first."));
    return false;
  }
  if (request.runLogPath.isEmpty()) request.runLogPath = m_runLogPath;
  m_trainPlot->clear();
  m_trainPlot->addSeries(kTrainKey, tr("train loss"), QColor(40, 40, 40));
  m_valPlot->clear();
  m_domains.clear();
  m_runId = 0;
  m_lastCheckpoint.clear();
  m_progress->setRange(0, static_cast<int>(request.config.train.steps));
  m_progress->setValue(0);
  m_speedLabel->clear();
  m_etaLabel->clear();
  m_baselineNext.reset();
  if (request.thenDenseBaseline && request.resumeCheckpoint.isEmpty() &&
      request.config.train.kind == souplab::ModelKind::kSoup) {
    TrainRequest dense;
    dense.config = dense_baseline_config(request.config, request.config.train.run_name);
    dense.runLogPath = request.runLogPath;
    dense.processes = request.processes;
    m_baselineNext = dense;
  }
  m_session->start(std::move(request));
  setState(State::Preparing);
  return true;
}

bool TrainingMonitor::stopAndWait(int msecs) {
  if (m_session->isRunning()) appendLog(tr("Stopping: saving a checkpoint…"));
  return m_session->stopAndWait(msecs);
}

void TrainingMonitor::newRunOn(const QString& corpusDir) {
  NewRunDialog dialog(this);
  if (!corpusDir.isEmpty()) dialog.setCorpusDir(corpusDir);
  if (dialog.exec() == QDialog::Accepted) startRun(dialog.request());
}

void TrainingMonitor::resumeRun() {
  QSettings settings;
  const QString start = settings.value("paths/lastCheckpointDir",
                                       QString::fromStdString(default_runs_dir())).toString();
  const QString path = QFileDialog::getOpenFileName(this, tr("Resume from checkpoint"), start,
                                                    tr("Checkpoints (*.ckpt);;All files (*)"));
  if (path.isEmpty()) return;
  settings.setValue("paths/lastCheckpointDir", QFileInfo(path).absolutePath());
  bool ok = false;
  const int total = QInputDialog::getInt(
      this, tr("Resume"), tr("Total step budget (0 keeps the run's own):"), 0, 0, 100'000'000,
      100, &ok);
  if (!ok) return;
  TrainRequest request;
  request.resumeCheckpoint = path;
  request.totalStepsOverride = total;
  startRun(std::move(request));
}

void TrainingMonitor::pause() {
  if (m_state != State::Running) return;
  m_session->setPaused(true);
  appendLog(tr("Pausing after the current step…"));
}

void TrainingMonitor::resume() {
  if (m_state != State::Paused && !m_session->isPaused()) return;
  m_session->setPaused(false);
}

void TrainingMonitor::stop() {
  if (!m_session->isRunning()) return;
  appendLog(tr("Stopping: saving a checkpoint…"));
  m_session->stop();
}

void TrainingMonitor::onStarted(qint64 runId, const QString& runDir, const QStringList& domains,
                                const QString& device) {
  m_runId = runId;
  ensureDomainSeries(domains);
  loadHistory(runId);
  appendLog(tr("Run %1 on %2, %3 domains; checkpoints in %4")
                .arg(runId).arg(device).arg(domains.size()).arg(runDir));
  setState(m_session->isPaused() ? State::Paused : State::Running);
  Q_EMIT deviceChanged(device);
  Q_EMIT runStarted(runId);
}

void TrainingMonitor::ensureDomainSeries(const QStringList& domains) {
  for (int i = 0; i < domains.size(); ++i) {
    const QString& d = domains[i];
    if (m_valPlot->hasSeries(uniformKey(d))) continue;
    m_domains << d;
    m_valPlot->addSeries(uniformKey(d), d, LossPlot::colorFor(i), Qt::SolidLine);
    m_valPlot->addSeries(specialistKey(d), d + tr(" (specialist)"), LossPlot::colorFor(i),
                         Qt::DashLine);
  }
  applyValidationView();
}

void TrainingMonitor::applyValidationView() {
  const int view = m_valView->currentIndex();
  for (const QString& d : m_domains) {
    m_valPlot->setSeriesVisible(uniformKey(d), view != 2);
    m_valPlot->setSeriesVisible(specialistKey(d), view != 1);
  }
}

void TrainingMonitor::onProgress(const souplab::TrainProgress& p) {
  if (m_progress->maximum() != p.total_steps) m_progress->setMaximum(int(p.total_steps));
  m_progress->setValue(static_cast<int>(p.step));
  m_trainPlot->append(kTrainKey, double(p.step), p.train_loss);
  QString speed = tr("%1 tokens/s").arg(QLocale().toString(p.tokens_per_sec, 'f', 0));
  if (p.world_size > 1) {  // each rank's own rate over its compute time: a slow one stands out
    QStringList ranks;
    for (double r : p.rank_tokens_per_sec) ranks << QLocale().toString(r, 'f', 0);
    speed += tr(" · %1 ranks: %2 tokens/s each").arg(p.world_size).arg(ranks.join(QStringLiteral(" / ")));
  }
  m_speedLabel->setText(speed);
  m_etaLabel->setText(tr("ETA %1").arg(formatDuration(p.eta_s)));
  if (m_state == State::Preparing) setState(State::Running);
}

void TrainingMonitor::onEvaluated(const souplab::EvalResult& r) {
  QStringList names;
  for (const std::string& d : r.domains) names << QString::fromStdString(d);
  ensureDomainSeries(names);
  for (int i = 0; i < names.size(); ++i) {
    if (size_t(i) < r.loss_uniform.size())
      m_valPlot->append(uniformKey(names[i]), double(r.step), r.loss_uniform[size_t(i)]);
    if (size_t(i) < r.loss_specialist.size())
      m_valPlot->append(specialistKey(names[i]), double(r.step), r.loss_specialist[size_t(i)]);
  }
}

void TrainingMonitor::onCheckpoint(const QString& path, qint64 step) {
  m_lastCheckpoint = path;
  m_openButton->setEnabled(true);
  appendLog(tr("Checkpoint at step %1: %2").arg(step).arg(path));
  Q_EMIT checkpointSaved(path, step);
}

void TrainingMonitor::onFinished(souplab::gui::TrainingOutcome outcome, const QString& checkpoint) {
  if (!checkpoint.isEmpty()) m_lastCheckpoint = checkpoint;
  m_etaLabel->clear();
  const bool done = outcome == TrainingOutcome::Finished;
  appendLog(done ? tr("Training finished.") : tr("Training stopped."));
  setState(done ? State::Finished : State::Stopped);
  if (!m_lastCheckpoint.isEmpty())
    m_statusLabel->setText(m_statusLabel->text() + tr(" — “Open in explorer” shows its "
                                                      "specialists"));
  Q_EMIT runEnded(m_runId);
  // Then the dense baseline with the same budget (one training at a time: two would share the
  // cores and both crawl). A stopped run takes its baseline with it.
  if (std::optional<TrainRequest> next = std::exchange(m_baselineNext, std::nullopt); next && done) {
    appendLog(tr("Next: %1, the same size, steps, batch and seed on the uniform mixture — the explorer "
                 "compares the specialists with it when it ends.")
                  .arg(QString::fromStdString(next->config.train.run_name)));
    QTimer::singleShot(0, this, [this, request = *next] { startRun(request); });
  }
}

void TrainingMonitor::onFailed(const QString& message) {
  m_baselineNext.reset();  // compared with a bank that did not finish, it would answer nothing
  appendLog(tr("Error: %1").arg(message));
  setState(State::Failed);
  m_statusLabel->setText(tr("Failed: %1").arg(message));
  m_statusLabel->setToolTip(message);
  Q_EMIT runEnded(m_runId);
}

void TrainingMonitor::loadHistory(qint64 runId) {
  // Only a resumed run has history; reading is cheap and uses a connection of this thread.
  try {
    const std::string path = run_log_path_or_default(m_runLogPath.toStdString());
    if (!QFileInfo::exists(QString::fromStdString(path))) return;
    RunLog log(path);
    for (const Metric& m : log.metrics(runId)) {
      const QString domain = QString::fromStdString(m.domain);
      if (m.split == metric_key::kTrain && m.name == metric_key::kLoss) m_trainPlot->append(kTrainKey, m.step, m.value);
      else if (m.split == metric_key::kVal && m.name == metric_key::kLossUniform)
        m_valPlot->append(uniformKey(domain), m.step, m.value);
      else if (m.split == metric_key::kVal && m.name == metric_key::kLossSpecialist)
        m_valPlot->append(specialistKey(domain), m.step, m.value);
    }
  } catch (const std::exception& e) {
    appendLog(tr("Could not read the run's history: %1").arg(QString::fromStdString(e.what())));
  }
}

void TrainingMonitor::exportPlots() {
  QSettings settings;
  const QString dir = settings.value("paths/lastExportDir", QDir::homePath()).toString();
  QString selected;
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export plots"), QDir(dir).filePath(QStringLiteral("training.png")),
      tr("PNG image (*.png);;PDF (*.pdf);;CSV data (*.csv)"), &selected);
  if (path.isEmpty()) return;
  settings.setValue("paths/lastExportDir", QFileInfo(path).absolutePath());
  const QFileInfo info(path);
  const QString base = info.absolutePath() + '/' + info.completeBaseName();
  const QString suffix = info.suffix().isEmpty() ? QStringLiteral("png") : info.suffix().toLower();
  QString error;
  bool ok = true;
  // Two plots: one file each, "<name>-train.<ext>" and "<name>-val.<ext>".
  for (auto [plot, tag] : {std::pair{m_trainPlot, "train"}, std::pair{m_valPlot, "val"}}) {
    const QString file = base + '-' + tag + '.' + suffix;
    ok = ok && (suffix == QLatin1String("csv") ? plot->exportCsv(file, &error)
                                               : plot->exportImage(file, &error));
  }
  if (!ok) QMessageBox::warning(this, tr("Export"), error);
  else appendLog(tr("Exported %1-train.%2 and %1-val.%2").arg(base, suffix));
}

}  // namespace souplab::gui
