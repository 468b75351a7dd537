// The soak of the app (issue 28, point 2): the main window trains a bank of the default size (the
// default RunConfig, one thread) and, after two minutes of training alone, explores a trained bank
// while the training goes on, driven by a seeded random sequence of what a user does — one action
// every 150-600 ms: a slider dragged, weights typed, generation started or stopped, "Specialist for
// this text" fitted (and sometimes cancelled), the reference switched to the bank itself and back,
// undo and redo — for SOUPLAB_SOAK_MINUTES (default 30) in all. It records RSS every minute (and
// each minute's high, sampled every 5 s), the longest GUI-thread stall, the training's throughput
// alone and while exploring, and at the end the run log's integrity. Goals: no crash; RSS grows
// < 10 % after minute 5 (the highs of the last 5 minutes against minutes 5-9); no stall > 200 ms;
// the training keeps >= 70 % of its throughput; every logged step's train loss is in the run log.
//
// Inputs (environment): SOUPLAB_SOAK_BANK (a trained bank checkpoint, required),
// SOUPLAB_SOAK_CORPUS (the corpus the training uses, required), SOUPLAB_SOAK_MINUTES,
// SOUPLAB_SOAK_SEED (the action sequence), SOUPLAB_SOAK_REPORT (a path: the figures as JSON).
// Not run by CTest (DISABLED, label soak): scripts/soak.sh trains the bank and runs this.
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "app/glue/generation_worker.h"
#include "app/glue/memory_tuning.h"
#include "app/glue/training_session.h"
#include "souplab/config.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "tests/reliability/gui_probes.h"
#include "tests/reliability/run_log_check.h"
#include "ui/explorer/domain_sliders.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/explorer/target_weights_button.h"
#include "ui/main_window.h"
#include "ui/training/training_monitor.h"

using namespace souplab::gui;
using souplab::test::residentSetMb;
using souplab::test::runEventLoopFor;
using souplab::test::runEventLoopUntil;
using souplab::test::StallProbe;

namespace {

constexpr qint64 kLogInterval = 10;         // train loss every 10 steps: the rows checked at the end
constexpr int kHeartbeatMs = 10;            // the stall probe's beat
constexpr qint64 kSettleMs = 5000;          // after the bank loaded: not counted as stalls (see below)
constexpr qint64 kStallGoalMs = 200;        // longest GUI-thread stall allowed
constexpr double kRssGrowthGoal = 0.10;     // RSS growth allowed after minute 5 (of the minutes' highs)
constexpr int kRssSampleMs = 5000;          // RSS samples within a minute, for its high
constexpr double kThroughputGoal = 0.70;    // share of its throughput the training must keep
constexpr qint64 kStartDeadlineMs = 15 * 60000;  // corpus opened (tokenised if new) and step 0 evaluated
constexpr qint64 kLoadDeadlineMs = 5 * 60000;    // the bank loaded in the explorer
constexpr qint64 kStopDeadlineMs = 10 * 60000;   // the training stopped (a checkpoint saved)

enum Phase { kStarting, kAlone, kExploring, kStopping };

// One TrainProgress report, when it arrived on the soak's clock and in which phase.
struct Report {
  qint64 atMs = 0;
  qint64 step = 0;
  double tokensPerSec = 0;
  Phase phase = kStarting;
};

struct SoakState {
  QElapsedTimer clock;  // the soak's clock: runs from the training's first report
  Phase phase = kStarting;
  std::vector<Report> reports;
  std::vector<qint64> reportedSteps;  // every step the GUI was told about
  QString trainingFailure;
  bool runEnded = false;
  qint64 exploreStartMs = -1;
  bool bankLoaded = false;
  qint64 bankLoadedMs = -1;
  bool stallWindowOpen = false;  // kSettleMs after the bank loaded: stalls count from then
  qint64 stallLoadingMs = -1;    // the worst stall before that (reported, not a goal)
  std::vector<double> rssMb;     // every minute of the soak's clock, from 0
  std::vector<double> rssAtS;    // when each was taken
  // The highest RSS of each minute (sampled every kRssSampleMs): finished jobs hand their pages
  // back (memory_tuning.h), so RSS at one instant swings by ~150 MiB with what happens to run;
  // a drift or a leak raises the highs, which is what the growth goal compares.
  std::vector<double> rssPeakMb;
  double rssPeakNowMb = 0;       // the highest sample of the minute under way
  double rssAfterLoadMb = -1;    // kSettleMs after the bank loaded
  std::map<QString, int> actions;
  int errors = 0;
  QStringList errorMessages;  // the first 20
  int dialogsDismissed = 0;

  qint64 now() const { return clock.isValid() ? clock.elapsed() : -1; }
};

// SOUPLAB_SOAK_MINUTES: minutes (fractions allowed, at least 1), 30 when unset.
double soakMinutes(bool* ok) {
  *ok = true;
  if (!qEnvironmentVariableIsSet("SOUPLAB_SOAK_MINUTES")) return 30;
  const double minutes = qEnvironmentVariable("SOUPLAB_SOAK_MINUTES").toDouble(ok);
  *ok = *ok && minutes >= 1;
  return minutes;
}

double median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// JSON has no NaN: an unknown figure is null.
QJsonValue number(double v) { return std::isfinite(v) ? QJsonValue(std::round(v * 100) / 100) : QJsonValue(); }

// "Specialist for this text": up to 4 KB of the first document of two domains of the corpus (a
// mixture, so that the fit has something to find), plain prose where the corpus offers too little.
bool writeTargetText(const QString& corpusDir, const QString& path) {
  QByteArray text;
  const QStringList domains = QDir(corpusDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
  for (int d : {0, int(domains.size()) / 2}) {
    if (d >= domains.size()) continue;
    QDirIterator it(QDir(corpusDir).filePath(domains[d]), QDir::Files, QDirIterator::Subdirectories);
    if (!it.hasNext()) continue;
    QFile doc(it.next());
    if (doc.open(QIODevice::ReadOnly)) text += doc.read(4096) + '\n';
  }
  for (int i = 0; text.size() < 1024; ++i)
    text += QStringLiteral("The quiet river ran under the old bridge, and she wrote letter %1 that morning.\n")
                .arg(i)
                .toUtf8();
  QFile out(path);
  return out.open(QIODevice::WriteOnly) && out.write(text) == text.size();
}

}  // namespace

class TestSoak : public QObject {
  Q_OBJECT

 public:
  TestSoak() {
    souplab::gui::capMallocArenas();  // as the app's main() does (memory_tuning.h)
    // Qt Test's watchdog ends a test function after QTEST_FUNCTION_TIMEOUT ms (5 minutes unless
    // set); it reads the variable once qExec runs, after this constructor. The soak's minutes,
    // plus the start, the bank's load and the stop at their deadlines.
    if (qEnvironmentVariableIsEmpty("QTEST_FUNCTION_TIMEOUT")) {
      bool ok = false;
      const double minutes = soakMinutes(&ok);
      qputenv("QTEST_FUNCTION_TIMEOUT", QByteArray::number(qint64(((ok ? minutes : 30) + 45) * 60000)));
    }
  }

 private Q_SLOTS:
  void exploreWhileTraining() {
    // --- inputs
    const QString bank = qEnvironmentVariable("SOUPLAB_SOAK_BANK");
    const QString corpus = qEnvironmentVariable("SOUPLAB_SOAK_CORPUS");
    if (bank.isEmpty())
      QFAIL("SOUPLAB_SOAK_BANK is not set: the soak explores a trained bank checkpoint (.ckpt); "
            "scripts/soak.sh trains one and runs this test");
    if (!QFileInfo(bank).isFile()) QFAIL(qPrintable(QStringLiteral("SOUPLAB_SOAK_BANK: %1: no such file").arg(bank)));
    if (corpus.isEmpty())
      QFAIL("SOUPLAB_SOAK_CORPUS is not set: the soak trains on a corpus folder (a folder of domain "
            "folders; scripts/soak.sh passes the one its bank was trained on)");
    if (!QFileInfo(corpus).isDir()) QFAIL(qPrintable(QStringLiteral("SOUPLAB_SOAK_CORPUS: %1: no such folder").arg(corpus)));
    bool ok = false;
    const double minutes = soakMinutes(&ok);
    if (!ok) QFAIL("SOUPLAB_SOAK_MINUTES must be a number of minutes, at least 1");
    quint64 seed = 28;
    if (qEnvironmentVariableIsSet("SOUPLAB_SOAK_SEED")) {
      seed = qEnvironmentVariable("SOUPLAB_SOAK_SEED").toULongLong(&ok);
      if (!ok) QFAIL("SOUPLAB_SOAK_SEED must be a non-negative integer");
    }
    const QString reportPath = qEnvironmentVariable("SOUPLAB_SOAK_REPORT");
    const qint64 totalMs = qint64(minutes * 60000);
    // Two minutes of training alone; a third of a shorter soak (a quick try of the script).
    const qint64 aloneMs = std::min<qint64>(120000, totalMs / 3);

    QStandardPaths::setTestModeEnabled(true);  // the window's QSettings stay out of the user's
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    // A run log of its own: the training writes it and the explorer's reference picker reads it.
    // The token cache stays the user's (SOUPLAB_CACHE_DIR untouched), so a corpus tokenised when
    // the bank was trained is not tokenised again here.
    qputenv("SOUPLAB_DATA_DIR", QFile::encodeName(tmp.filePath("data")));
    const QString runLogPath = QString::fromStdString(souplab::default_run_log_path());
    const QString target = tmp.filePath("target.txt");
    QVERIFY2(writeTargetText(corpus, target), qPrintable(QStringLiteral("cannot write %1").arg(target)));

    SoakState s;
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    SpecialistExplorer* explorer = window.explorer();
    TrainingMonitor* monitor = window.monitor();
    DomainSliders* sliders = explorer->domainSliders();
    // Neither has an accessor: found by the object names the explorer gives them.
    auto* targetButton = explorer->findChild<TargetWeightsButton*>(QStringLiteral("targetWeightsButton"));
    QVERIFY2(targetButton, "the explorer has no \"Specialist for this text\" button (targetWeightsButton)");
    auto* referencePicker = explorer->findChild<QComboBox*>(QStringLiteral("referenceCombo"));
    QVERIFY2(referencePicker, "the explorer has no reference picker (referenceCombo)");

    // Every connection below has `guard` as its context: it goes before the state they use.
    QObject guard;
    connect(monitor->session(), &TrainingSession::stepProgress, &guard, [&](const souplab::TrainProgress& p) {
      s.reportedSteps.push_back(p.step);
      s.reports.push_back({s.now(), p.step, p.tokens_per_sec, s.phase});
    });
    connect(monitor->session(), &TrainingSession::failed, &guard, [&](const QString& m) { s.trainingFailure = m; });
    connect(monitor, &TrainingMonitor::runEnded, &guard, [&] { s.runEnded = true; });
    connect(explorer, &SpecialistExplorer::errorOccurred, &guard, [&](const QString& m) {
      ++s.errors;
      if (s.errorMessages.size() < 20) s.errorMessages << QStringLiteral("%1 s: %2").arg(s.now() / 1000).arg(m);
    });
    // The main window shows the explorer's errors in a modal message box (its own event loop,
    // so nothing stalls): counted above, and closed here as a user would.
    QTimer dismiss;
    connect(&dismiss, &QTimer::timeout, &guard, [&] {
      if (QWidget* modal = QApplication::activeModalWidget()) {
        ++s.dialogsDismissed;
        if (auto* dialog = qobject_cast<QDialog*>(modal)) dialog->reject();
        else modal->close();
      }
    });
    dismiss.start(250);

    // --- the training: the default RunConfig (model size, batch, schedule) on the corpus, one
    // thread, a step budget it never reaches (the soak stops it), logging every 10 steps.
    TrainRequest request;
    request.config.train.corpus_dir = corpus.toStdString();
    request.config.train.out_dir = tmp.filePath("run").toStdString();
    request.config.train.run_name = "soak";
    request.config.train.threads = 1;
    request.config.train.steps = 10'000'000;
    request.config.train.log_interval = kLogInterval;
    request.config.train.eval_interval = 200;
    request.config.train.checkpoint_interval = 500;
    request.runLogPath = runLogPath;
    QVERIFY(monitor->startRun(request));
    window.showTab(MainWindow::TrainingTab);
    QElapsedTimer starting;
    starting.start();
    runEventLoopUntil([&] {
      return !s.reports.empty() || !s.trainingFailure.isEmpty() || s.runEnded || starting.elapsed() > kStartDeadlineMs;
    });
    QVERIFY2(s.trainingFailure.isEmpty(), qPrintable(QStringLiteral("the training failed: %1").arg(s.trainingFailure)));
    QVERIFY2(!s.reports.empty(), "the training reported no step within 15 minutes of its start");
    qInfo("training run %lld started in %lld s; soaking %.1f minutes (seed %llu)", static_cast<long long>(monitor->runId()),
          static_cast<long long>(starting.elapsed() / 1000), minutes, static_cast<unsigned long long>(seed));

    // --- the soak's clock: RSS now and every minute. rssMb[5] is minute 5 of the soak, 3 minutes
    // into exploring (the first report — the warm-up steps — counts in no phase).
    s.clock.start();
    s.phase = kAlone;
    StallProbe probe(kHeartbeatMs);
    const auto sampleRss = [&] {
      s.rssMb.push_back(residentSetMb());
      s.rssAtS.push_back(double(s.now()) / 1000.0);
      s.rssPeakMb.push_back(std::max(s.rssPeakNowMb, s.rssMb.back()));
      s.rssPeakNowMb = 0;
    };
    sampleRss();
    QTimer rssSampler;
    connect(&rssSampler, &QTimer::timeout, &guard, [&] { s.rssPeakNowMb = std::max(s.rssPeakNowMb, residentSetMb()); });
    rssSampler.start(kRssSampleMs);
    QTimer rssTimer;
    connect(&rssTimer, &QTimer::timeout, &guard, [&] {
      sampleRss();
      int done = 0;
      for (const auto& [kind, n] : s.actions) done += n;
      qInfo("soak minute %d: RSS %.0f MiB, worst stall %lld ms, %d actions, %d explorer errors, step %lld",
            int(s.rssMb.size()) - 1, s.rssMb.back(), static_cast<long long>(s.stallWindowOpen ? probe.worstStallMs() : 0),
            done, s.errors, static_cast<long long>(s.reportedSteps.empty() ? 0 : s.reportedSteps.back()));
    });
    rssTimer.start(60000);
    const auto trainingEnded = [&] { return !s.trainingFailure.isEmpty() || s.runEnded; };

    // --- training alone: the throughput to compare with.
    runEventLoopUntil([&] { return s.now() >= aloneMs || trainingEnded(); });

    // --- exploring: the bank opens (loaded off the GUI thread), then one random action every
    // 150-600 ms until the soak's time is up.
    std::mt19937_64 rng(seed);
    const auto uniformInt = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
    enum Action { kSlider, kTyped, kGeneration, kTarget, kReference, kUndo, kRedo };
    std::discrete_distribution<int> pickAction({35, 15, 8, 5, 7, 16, 14});  // in Action's order
    bool referenceIsBank = false;
    const auto act = [&] {
      const QStringList names = sliders->domains();
      if (names.isEmpty()) return;
      QUndoStack* undo = sliders->undoStack();
      int action = pickAction(rng);
      if ((action == kUndo && !undo->canUndo()) || (action == kRedo && !undo->canRedo())) action = kSlider;
      switch (action) {
        case kSlider: {  // a drag: press (a new undo step), 1-4 positions on the way, release
          QSlider* slider = sliders->slider(uniformInt(0, int(names.size()) - 1));
          if (!slider) return;
          const int from = slider->value(), to = uniformInt(slider->minimum(), slider->maximum());
          const int positions = uniformInt(1, 4);
          sliders->endGesture();
          for (int i = 1; i <= positions; ++i) slider->setValue(from + (to - from) * i / positions);
          sliders->endGesture();
          ++s.actions[QStringLiteral("slider")];
          break;
        }
        case kTyped: {  // "name=w,name=w" in the text box's syntax, one to three domains
          std::vector<int> order(size_t(names.size()));
          std::iota(order.begin(), order.end(), 0);
          std::shuffle(order.begin(), order.end(), rng);
          QStringList parts;
          const int n = std::min(int(names.size()), uniformInt(1, 3));
          for (int i = 0; i < n; ++i)
            parts << QStringLiteral("%1=%2").arg(names[order[size_t(i)]]).arg(uniformInt(5, 100) / 100.0, 0, 'f', 2);
          ++s.actions[sliders->applyText(parts.join(QLatin1Char(','))) ? QStringLiteral("typed")
                                                                       : QStringLiteral("typed_rejected")];
          break;
        }
        case kGeneration:
          if (explorer->generationWorker()->isActive()) {
            explorer->stopGeneration();
            ++s.actions[QStringLiteral("generation_stop")];
          } else {
            explorer->startGeneration();
            ++s.actions[QStringLiteral("generation_start")];
          }
          break;
        case kTarget:  // "Specialist for this text" with a fit; a running one is cancelled half the time
          if (!targetButton->isBusy()) {
            targetButton->estimate(target, QStringLiteral("fit"));
            ++s.actions[QStringLiteral("target_fit")];
          } else if (chance(0.5)) {
            targetButton->cancel();
            ++s.actions[QStringLiteral("target_cancel")];
          } else {
            ++s.actions[QStringLiteral("target_left_running")];
          }
          break;
        case kReference:  // the bank itself as the reference, and back to the soup at uniform h
          if (!referenceIsBank) {
            explorer->compareWith(bank);
            ++s.actions[QStringLiteral("reference_bank")];
          } else {
            // The picker's "vs soup at uniform h", chosen as a user chooses it.
            const int soup = referencePicker->findData(QStringLiteral("soup"));
            if (soup < 0) {
              ++s.actions[QStringLiteral("reference_no_soup_entry")];
              break;
            }
            referencePicker->setCurrentIndex(soup);
            Q_EMIT referencePicker->activated(soup);
            ++s.actions[QStringLiteral("reference_default")];
          }
          referenceIsBank = !referenceIsBank;
          break;
        case kUndo:
          undo->undo();
          ++s.actions[QStringLiteral("undo")];
          break;
        case kRedo:
          undo->redo();
          ++s.actions[QStringLiteral("redo")];
          break;
        default:
          break;
      }
    };
    QTimer actionTimer;
    actionTimer.setSingleShot(true);
    connect(&actionTimer, &QTimer::timeout, &guard, [&] {
      act();
      if (s.phase == kExploring) actionTimer.start(uniformInt(150, 600));
    });
    // Stalls count from kSettleMs after the bank loaded: loading runs off the GUI thread, but the
    // first replot of a new bank (its chart, its table of domains) may be large. That window's
    // worst is reported apart (max_stall_loading_ms), not held against the goal.
    QTimer settle;
    settle.setSingleShot(true);
    connect(&settle, &QTimer::timeout, &guard, [&] {
      s.stallLoadingMs = probe.worstStallMs();
      probe.reset();
      s.rssAfterLoadMb = residentSetMb();
      s.stallWindowOpen = true;
    });
    QObject loadGuard;  // the context of what uses the timers above: it goes before them
    connect(explorer, &SpecialistExplorer::bankLoaded, &loadGuard, [&] {
      if (s.bankLoaded) return;  // the soak never reloads; the first load is the one timed
      s.bankLoaded = true;
      s.bankLoadedMs = s.now();
      settle.start(int(kSettleMs));
      actionTimer.start(uniformInt(150, 600));
    });
    s.phase = kExploring;
    s.exploreStartMs = s.now();
    probe.start();
    window.openBank(bank);
    runEventLoopUntil([&] {
      const qint64 t = s.now();
      return t >= totalMs || trainingEnded() || (!s.bankLoaded && t - s.exploreStartMs > kLoadDeadlineMs);
    });

    // --- the end: figures first, then the training stops and the run log is read.
    s.phase = kStopping;
    actionTimer.stop();
    settle.stop();
    probe.stop();
    rssTimer.stop();
    rssSampler.stop();
    const qint64 soakedMs = s.now();
    const double rssEndMb = residentSetMb();
    std::vector<double> alone, exploring;
    for (const Report& r : s.reports) {
      if (r.phase == kAlone) alone.push_back(r.tokensPerSec);
      else if (r.phase == kExploring) exploring.push_back(r.tokensPerSec);
    }
    const double tokensAlone = median(alone), tokensExploring = median(exploring);
    const double ratio = tokensAlone > 0 ? tokensExploring / tokensAlone : std::numeric_limits<double>::quiet_NaN();
    const qint64 maxStallMs = s.stallWindowOpen ? probe.worstStallMs() : -1;
    // The highs of the last 5 minutes against those of minutes 5-9 (the soak's clock; minute 5 is
    // 3 minutes into exploring); a soak under 10 minutes compares its end with RSS kSettleMs
    // after the bank loaded. At an instant RSS swings with the work under way (see rssPeakMb).
    const size_t minutesSampled = s.rssPeakMb.size();
    const bool fromMinute5 = minutes >= 10 && minutesSampled >= 10;
    const auto highest = [&](size_t from, size_t to) {  // minutes [from, to)
      double most = 0;
      for (size_t m = from; m < std::min(to, minutesSampled); ++m) most = std::max(most, s.rssPeakMb[m]);
      return most;
    };
    const double rssBaselineMb = fromMinute5 ? highest(5, 10) : s.rssAfterLoadMb;
    const double rssLateMb = fromMinute5 ? std::max(highest(minutesSampled - 5, minutesSampled), rssEndMb) : rssEndMb;
    const QString rssBaselineAt = fromMinute5 ? QStringLiteral("the highest of minutes 5-9")
                                              : QStringLiteral("5 s after the bank loaded (no minutes 5-9 to compare with)");
    const double rssGrowth = rssBaselineMb > 0 && rssLateMb > 0 ? (rssLateMb - rssBaselineMb) / rssBaselineMb
                                                                : std::numeric_limits<double>::quiet_NaN();
    const double latencyMs = explorer->medianLatencyMs();
    const int latencySamples = explorer->latencySamples();

    explorer->stopGeneration();
    targetButton->cancel();
    monitor->stop();
    QElapsedTimer stopping;
    stopping.start();
    runEventLoopUntil([&] { return s.runEnded || stopping.elapsed() > kStopDeadlineMs; });
    const bool joined = monitor->stopAndWait(60000);
    runEventLoopFor(200);  // the run's last queued signals
    dismiss.stop();

    const QString integrity = souplab::test::runLogIntegrityCheck(runLogPath);
    std::set<qint64> logged;  // steps with a "train" loss row
    int metricRows = 0;
    QString runLogError;
    try {
      const souplab::RunLog log(runLogPath.toStdString());
      for (const souplab::Metric& m : log.metrics(monitor->runId(), std::string("loss"))) {
        if (m.split != "train") continue;
        ++metricRows;
        logged.insert(m.step);
      }
    } catch (const std::exception& e) {
      runLogError = QString::fromUtf8(e.what());
    }
    const qint64 lastLogged = logged.empty() ? 0 : *logged.rbegin();
    QList<qint64> missing;  // log-interval steps up to the last one logged without their row
    for (qint64 step = kLogInterval; step <= lastLogged; step += kLogInterval)
      if (!logged.count(step)) missing << step;
    int reportedNotLogged = 0;  // steps the GUI was told about that the log lacks
    for (qint64 step : s.reportedSteps)
      if (!logged.count(step)) ++reportedNotLogged;

    // --- the goals
    QStringList broken;
    if (!s.trainingFailure.isEmpty()) broken << QStringLiteral("the training failed: %1").arg(s.trainingFailure);
    else if (s.runEnded && soakedMs < totalMs) broken << QStringLiteral("the training ended after %1 s of the soak").arg(soakedMs / 1000);
    if (!s.runEnded || !joined) broken << QStringLiteral("the training did not stop within 10 minutes of Stop");
    if (!s.bankLoaded) broken << QStringLiteral("the bank did not load in the explorer (%1)").arg(s.errorMessages.join(QStringLiteral("; ")));
    if (maxStallMs < 0) broken << QStringLiteral("no stall figure: the soak ended before 5 s after the bank loaded");
    else if (maxStallMs >= kStallGoalMs) broken << QStringLiteral("the GUI thread stalled %1 ms (goal < %2 ms)").arg(maxStallMs).arg(kStallGoalMs);
    if (!std::isfinite(rssGrowth)) broken << QStringLiteral("no RSS figure to compare");
    else if (rssGrowth >= kRssGrowthGoal)
      broken << QStringLiteral("RSS grew %1 % from %2 MiB (%3) to %4 MiB (goal < 10 %)")
                    .arg(100 * rssGrowth, 0, 'f', 1).arg(rssBaselineMb, 0, 'f', 0).arg(rssBaselineAt).arg(rssLateMb, 0, 'f', 0);
    if (alone.size() < 3 || exploring.size() < 3)
      broken << QStringLiteral("too few throughput reports (%1 alone, %2 exploring)").arg(alone.size()).arg(exploring.size());
    else if (!(ratio >= kThroughputGoal))
      broken << QStringLiteral("the training kept %1 % of its throughput while exploring (%2 vs %3 tokens/s alone; goal >= 70 %)")
                    .arg(100 * ratio, 0, 'f', 1).arg(tokensExploring, 0, 'f', 0).arg(tokensAlone, 0, 'f', 0);
    if (integrity != QLatin1String("ok")) broken << QStringLiteral("run log integrity_check: %1").arg(integrity);
    if (!runLogError.isEmpty()) broken << QStringLiteral("cannot read the run log: %1").arg(runLogError);
    else if (lastLogged == 0) broken << QStringLiteral("the run log holds no train loss of run %1").arg(monitor->runId());
    if (!missing.isEmpty())
      broken << QStringLiteral("%1 logged steps lack their train loss row (first: step %2)").arg(missing.size()).arg(missing.first());
    if (reportedNotLogged > 0) broken << QStringLiteral("%1 reported steps are not in the run log").arg(reportedNotLogged);

    // --- the figures: printed, and as JSON where SOUPLAB_SOAK_REPORT asks
    QJsonObject actions;
    int actionsDone = 0;
    for (const auto& [kind, n] : s.actions) {
      actions[kind] = n;
      actionsDone += n;
    }
    QJsonArray rss, rssAt, rssPeak;
    for (double mb : s.rssMb) rss.append(number(mb));
    for (double mb : s.rssPeakMb) rssPeak.append(number(mb));
    for (double at : s.rssAtS) rssAt.append(number(at));
    QJsonObject report;
    report[QStringLiteral("minutes")] = minutes;
    report[QStringLiteral("soaked_s")] = number(double(soakedMs) / 1000.0);
    report[QStringLiteral("seed")] = QString::number(seed);  // as text: JSON numbers are doubles
    report[QStringLiteral("bank")] = bank;
    report[QStringLiteral("corpus")] = corpus;
    report[QStringLiteral("alone_s")] = number(double(aloneMs) / 1000.0);
    report[QStringLiteral("bank_loaded_s")] = number(s.bankLoaded ? double(s.bankLoadedMs - s.exploreStartMs) / 1000.0
                                                                  : std::numeric_limits<double>::quiet_NaN());
    report[QStringLiteral("rss_mb")] = rss;
    report[QStringLiteral("rss_at_s")] = rssAt;
    report[QStringLiteral("rss_after_load_mb")] = number(s.rssAfterLoadMb);
    report[QStringLiteral("rss_baseline_mb")] = number(rssBaselineMb);
    report[QStringLiteral("rss_baseline_at")] = rssBaselineAt;
    report[QStringLiteral("rss_end_mb")] = number(rssEndMb);
    report[QStringLiteral("rss_minute_high_mb")] = rssPeak;  // each minute's highest sample
    report[QStringLiteral("rss_late_mb")] = number(rssLateMb);
    report[QStringLiteral("rss_growth")] = std::isfinite(rssGrowth) ? QJsonValue(std::round(rssGrowth * 10000) / 10000) : QJsonValue();
    report[QStringLiteral("max_stall_ms")] = maxStallMs >= 0 ? QJsonValue(double(maxStallMs)) : QJsonValue();
    report[QStringLiteral("max_stall_loading_ms")] = s.stallLoadingMs >= 0 ? QJsonValue(double(s.stallLoadingMs)) : QJsonValue();
    report[QStringLiteral("stall_excluded")] =
        QStringLiteral("from opening the bank to 5 s after it loaded: loading runs off the GUI thread, but the first "
                       "replot may be large (max_stall_loading_ms)");
    report[QStringLiteral("stalls_over_100ms")] = probe.stallsOver100ms();
    report[QStringLiteral("heartbeats")] = probe.beats();
    report[QStringLiteral("tokens_per_s_alone")] = number(tokensAlone);
    report[QStringLiteral("tokens_per_s_exploring")] = number(tokensExploring);
    report[QStringLiteral("ratio")] = std::isfinite(ratio) ? QJsonValue(std::round(ratio * 1000) / 1000) : QJsonValue();
    report[QStringLiteral("reports_alone")] = int(alone.size());
    report[QStringLiteral("reports_exploring")] = int(exploring.size());
    report[QStringLiteral("actions")] = actions;
    report[QStringLiteral("actions_total")] = actionsDone;
    report[QStringLiteral("latency_median_ms")] = number(latencyMs);
    report[QStringLiteral("latency_samples")] = latencySamples;
    report[QStringLiteral("explorer_errors")] = s.errors;
    report[QStringLiteral("explorer_error_messages")] = QJsonArray::fromStringList(s.errorMessages);
    report[QStringLiteral("dialogs_dismissed")] = s.dialogsDismissed;
    report[QStringLiteral("run_id")] = double(monitor->runId());
    report[QStringLiteral("integrity")] = integrity;
    report[QStringLiteral("metrics_rows")] = metricRows;
    report[QStringLiteral("metrics_missing")] = int(missing.size());
    report[QStringLiteral("last_logged_step")] = double(lastLogged);
    report[QStringLiteral("steps_reported_not_logged")] = reportedNotLogged;
    report[QStringLiteral("goals_failed")] = QJsonArray::fromStringList(broken);
    report[QStringLiteral("passed")] = broken.isEmpty();

    qInfo("soak: %.1f of %.1f minutes, %d actions, %d explorer errors", double(soakedMs) / 60000.0, minutes,
          actionsDone, s.errors);
    for (const auto& [kind, n] : s.actions) qInfo("  %-24s %d", qPrintable(kind), n);
    QStringList rssText, highText;
    for (double mb : s.rssMb) rssText << QString::number(mb, 'f', 0);
    for (double mb : s.rssPeakMb) highText << QString::number(mb, 'f', 0);
    qInfo("RSS per minute (MiB): %s; each minute's high: %s; end %.0f MiB; %.0f MiB late, %+.1f %% from %s",
          qPrintable(rssText.join(QStringLiteral(" "))), qPrintable(highText.join(QStringLiteral(" "))), rssEndMb,
          rssLateMb, 100 * rssGrowth, qPrintable(rssBaselineAt));
    qInfo("longest GUI-thread stall %lld ms (%d over 100 ms, %d beats); while the bank loaded %lld ms (not counted)",
          static_cast<long long>(maxStallMs), probe.stallsOver100ms(), probe.beats(), static_cast<long long>(s.stallLoadingMs));
    qInfo("training: %.0f tokens/s alone (%d reports), %.0f exploring (%d): %.1f %% kept",
          tokensAlone, int(alone.size()), tokensExploring, int(exploring.size()), 100 * ratio);
    qInfo("run log: integrity %s, %d train loss rows up to step %lld, %d missing; explorer latency median %.0f ms (n=%d)",
          qPrintable(integrity), metricRows, static_cast<long long>(lastLogged), int(missing.size()), latencyMs, latencySamples);
    for (const QString& m : s.errorMessages) qWarning("explorer error at %s", qPrintable(m));

    if (!reportPath.isEmpty()) {
      QFile out(reportPath);
      const QByteArray json = QJsonDocument(report).toJson(QJsonDocument::Indented);
      if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) || out.write(json) != json.size())
        broken << QStringLiteral("cannot write the report to %1").arg(reportPath);
      else qInfo("report: %s", qPrintable(reportPath));
    }
    if (!broken.isEmpty()) QFAIL(qPrintable(broken.join(QStringLiteral("; "))));
  }
};

QTEST_MAIN(TestSoak)
#include "test_soak.moc"
