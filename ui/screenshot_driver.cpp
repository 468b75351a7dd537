#include "ui/screenshot_driver.h"

#include <QApplication>
#include <QDir>
#include <QPixmap>
#include <QSlider>
#include <QTabWidget>
#include <QTextStream>

#include <cstdio>
#include <functional>
#include <memory>

#include "app/glue/quick_start.h"
#include "ui/explorer/inside_panel.h"
#include "ui/explorer/landscape_panel.h"
#include "ui/explorer/path_panel.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/main_window.h"
#include "ui/runs/run_browser.h"
#include "ui/training/training_monitor.h"

namespace souplab::gui {

ScreenshotDriver::ScreenshotDriver(MainWindow* window, const QString& outDir, QObject* parent)
    : QObject(parent), m_window(window), m_outDir(outDir) {
  m_deadline.setSingleShot(true);
  m_deadline.setInterval(15 * 60 * 1000);
  connect(&m_deadline, &QTimer::timeout, this, [this] { finish(1, "time limit reached"); });
}

void ScreenshotDriver::start() {
  QDir().mkpath(m_outDir);
  m_deadline.start();
  m_window->resize(1366, 768);  // a laptop's screen: every view must fit it
  // SOUPLAB_SCREENSHOT_BANK: an existing (real) bank instead of the tiny demo training; only its
  // explorer views are grabbed, named SOUPLAB_SCREENSHOT_PREFIX + explorer*.png.
  m_prefix = qEnvironmentVariable("SOUPLAB_SCREENSHOT_PREFIX");
  const QString bank = qEnvironmentVariable("SOUPLAB_SCREENSHOT_BANK");
  if (!bank.isEmpty()) {
    m_explorerOnly = true;
    QTimer::singleShot(500, this, [this, bank] {
      SpecialistExplorer* explorer = m_window->explorer();
      connect(explorer, &SpecialistExplorer::bankLoaded, this, &ScreenshotDriver::onBankShown);
      connect(explorer, &SpecialistExplorer::errorOccurred, this,
              [this](const QString& message) { finish(1, message); });
      m_window->openBank(bank);
    });
    return;
  }
  // The welcome page first, as a first launch shows it.
  QTimer::singleShot(500, this, [this] {
    // A fresh profile (the script's) shows the welcome page of a first launch.
    if (m_window->isShowingWelcome()) grab(m_window, QStringLiteral("welcome.png"));
    m_window->showTab(MainWindow::TrainingTab);

    TrainingMonitor* monitor = m_window->monitor();
    connect(monitor, &TrainingMonitor::runEnded, this, &ScreenshotDriver::onTrainingEnded);
    TrainRequest request = tinyRequest(demoCorpusDir(), 120);
    request.config.model.n_embd = 64;
    request.config.model.n_head = 4;
    request.config.model.block_size = 64;
    request.config.train.run_name = "screenshot demo";
    monitor->setSmoothing(0.6);
    monitor->startRun(request);
  });
}

bool ScreenshotDriver::grab(QWidget* widget, const QString& name) {
  const QString path = QDir(m_outDir).filePath(m_prefix + name);
  const bool ok = widget->grab().save(path);
  std::fprintf(stderr, "%s %s\n", ok ? "wrote" : "FAILED to write", qPrintable(path));
  return ok;
}

void ScreenshotDriver::onTrainingEnded() {
  TrainingMonitor* monitor = m_window->monitor();
  if (monitor->state() != TrainingMonitor::State::Finished) {
    finish(1, QStringLiteral("training did not finish"));
    return;
  }
  QTimer::singleShot(300, this, [this, monitor] {
    m_window->showTab(MainWindow::TrainingTab);
    grab(m_window, QStringLiteral("training.png"));
    SpecialistExplorer* explorer = m_window->explorer();
    connect(explorer, &SpecialistExplorer::bankLoaded, this, &ScreenshotDriver::onBankShown);
    connect(explorer, &SpecialistExplorer::errorOccurred, this,
            [this](const QString& message) { finish(1, message); });
    m_window->openBank(monitor->lastCheckpoint());
  });
}

void ScreenshotDriver::onBankShown() {
  if (m_bankShown) return;
  m_bankShown = true;
  QTimer::singleShot(1500, this, [this] {
    moveSliders();
    // Give the inference worker time to instantiate and evaluate the new specialist.
    QTimer::singleShot(2500, this, [this] {
      m_window->showTab(MainWindow::ExplorerTab);
      grab(m_window, QStringLiteral("explorer.png"));
      // The same specialist, seen from inside: alpha(h), the formula, the distance per block;
      // then the path from it to another specialist, and the landscape; then the run browser.
      grabInsideViews([this] {
        if (m_explorerOnly)
          finish(0, QStringLiteral("done"));
        else
          grabRuns();
      });
    });
  });
}

void ScreenshotDriver::grabInsideViews(std::function<void()> then) {
  SpecialistExplorer* explorer = m_window->explorer();
  auto* below = explorer->findChild<QTabWidget*>(QStringLiteral("explorerBelowTabs"));
  if (!below) {
    then();
    return;
  }
  below->setCurrentWidget(explorer->insidePanel());
  QApplication::processEvents();  // the tab's plots take their size and replot before the grab
  grab(m_window, QStringLiteral("explorer-inside.png"));
  // Path: A is the specialist on screen, B the sliders moved the other way.
  below->setCurrentWidget(explorer->pathPanel());
  explorer->pathPanel()->pinCurrent();
  // Each view waits for its own signal, or moves on after its deadline (a screenshot of a view
  // still computing is better than none).
  auto step = std::make_shared<int>(0);
  auto landscape = [this, explorer, below, then, step] {
    if (*step != 1) return;
    *step = 2;
    below->setCurrentWidget(explorer->landscapePanel());
    auto done = [this, below, then, step] {
      if (*step != 2) return;
      *step = 3;
      QApplication::processEvents();
      grab(m_window, QStringLiteral("explorer-landscape.png"));
      below->setCurrentIndex(0);
      then();
    };
    connect(explorer->landscapePanel(), &LandscapePanel::gridShown, this,
            [done](int, bool finest) { if (finest) done(); });
    QTimer::singleShot(20000, this, done);
  };
  auto path = [this, landscape, step] {
    if (*step != 0) return;
    *step = 1;
    QApplication::processEvents();
    grab(m_window, QStringLiteral("explorer-path.png"));
    landscape();
  };
  connect(explorer->pathPanel(), &PathPanel::pathShown, this, path);
  moveSliders(true);
  QTimer::singleShot(20000, this, path);
}

void ScreenshotDriver::grabRuns() {
  m_window->showTab(MainWindow::RunsTab);
  RunBrowser* runs = m_window->runBrowser();
  runs->refresh();
  QList<qint64> ids;
  if (m_window->monitor()->runId() > 0) ids << m_window->monitor()->runId();
  runs->selectRuns(ids);
  QTimer::singleShot(500, this, [this] {
    grab(m_window, QStringLiteral("runs.png"));
    finish(0, QStringLiteral("done"));
  });
}

void ScreenshotDriver::moveSliders(bool towardsLast) {
  // The explorer's sliders are its own business: drive them as a user would, by value. The first
  // slider high and the rest low; towardsLast: the last one high instead.
  const QList<QSlider*> sliders = m_window->explorer()->findChildren<QSlider*>();
  const int high = towardsLast ? int(sliders.size()) - 1 : 0;
  for (int i = 0; i < sliders.size(); ++i) {
    QSlider* s = sliders[i];
    const int span = s->maximum() - s->minimum();
    s->setValue(s->minimum() + (i == high ? span * 8 / 10 : span / 10));
  }
}

void ScreenshotDriver::finish(int code, const QString& why) {
  std::fprintf(stderr, "screenshots: %s\n", qPrintable(why));
  m_deadline.stop();
  // Closing normally: nothing trains any more, so no question is asked.
  QTimer::singleShot(0, qApp, [code] { QApplication::exit(code); });
}

}  // namespace souplab::gui
