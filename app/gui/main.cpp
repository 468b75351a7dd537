// souplab: the desktop app. Thin on purpose: everything lives in souplab_ui / souplab_glue.
//   souplab                       opens the main window (welcome page on first launch)
//   souplab --open CKPT           opens a bank (checkpoint or exported specialist)
//   souplab CKPT                  the same (what the desktop entry's Exec=souplab %f passes)
//   souplab --quick-start         builds the demo corpus if needed and starts training at once
//   souplab --demo-screenshots D  (hidden) scripted session writing D/*.png, then exits
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <csignal>
#include <cstdio>

#include "app/glue/memory_tuning.h"
#include "app/glue/quit_signals.h"
#include "app/glue/training_session.h"
#include "souplab/run_log.h"
#include "souplab/paths.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/main_window.h"
#include "ui/screenshot_driver.h"

int main(int argc, char** argv) {
  souplab::gui::capMallocArenas();  // before any thread starts (memory_tuning.h)
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("SoupLab"));
  QApplication::setApplicationName(QStringLiteral("souplab"));
  QApplication::setApplicationDisplayName(QStringLiteral("SoupLab"));
  QApplication::setApplicationVersion(QStringLiteral(SOUPLAB_VERSION));
  // Wayland compositors and docks match the window to resources/souplab.desktop (icon, name)
  // by this name.
  QGuiApplication::setDesktopFileName(QStringLiteral("souplab"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Train and explore Soup-of-Experts model banks"));
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption openOption(QStringLiteral("open"),
                                QStringLiteral("Open a bank (checkpoint or exported specialist)."),
                                QStringLiteral("CKPT"));
  QCommandLineOption compareOption(QStringLiteral("compare"),
                                   QStringLiteral("Compare the opened bank's specialists with this model "
                                                  "(e.g. a dense baseline's checkpoint)."),
                                   QStringLiteral("CKPT"));
  QCommandLineOption quickOption(QStringLiteral("quick-start"),
                                 QStringLiteral("Train a small bank on the demo corpus now."));
  QCommandLineOption shotsOption(QStringLiteral("demo-screenshots"),
                                 QStringLiteral("Scripted session writing screenshots to DIR."),
                                 QStringLiteral("DIR"));
  shotsOption.setFlags(QCommandLineOption::HiddenFromHelp);
  parser.addOptions({openOption, compareOption, quickOption, shotsOption});
  parser.addPositionalArgument(QStringLiteral("bank"), QStringLiteral("Bank to open."),
                               QStringLiteral("[bank]"));
  parser.process(app);

  // Runs a crashed or killed session left "running" are marked interrupted before anyone
  // lists them. Best effort: a broken log is reported by the run browser itself.
  try {
    souplab::RunLog(souplab::default_run_log_path()).mark_interrupted_runs();
  } catch (const std::exception&) {
  }

  souplab::gui::MainWindow window;
  window.show();

  // Ctrl-C / kill: leave as the close button does (stop training, save a checkpoint), without
  // the dialog nobody would answer, then quit even if a modal dialog runs its own event loop.
  souplab::gui::QuitSignals quitSignals;
  QObject::connect(&quitSignals, &souplab::gui::QuitSignals::quitRequested, &window,
                   [&window](int signal) {
                     std::fprintf(stderr, "souplab: %s, closing (a run in training is stopped "
                                  "with a checkpoint; press Ctrl-C again to quit at once)\n",
                                  signal == SIGINT ? "interrupted" : "terminated");
                     window.closeWithoutConfirmation();
                     QCoreApplication::quit();
                   });

  QString bank = parser.value(openOption);
  if (bank.isEmpty() && !parser.positionalArguments().isEmpty())
    bank = parser.positionalArguments().first();
  if (parser.isSet(shotsOption)) {
    auto* driver = new souplab::gui::ScreenshotDriver(&window, parser.value(shotsOption), &app);
    QTimer::singleShot(0, driver, &souplab::gui::ScreenshotDriver::start);
  } else {
    if (!bank.isEmpty()) QTimer::singleShot(0, &window, [&window, bank] { window.openBank(bank); });
    // Queued behind the bank on the explorer's worker, so it replaces the bank's own reference.
    if (!bank.isEmpty() && parser.isSet(compareOption))
      QTimer::singleShot(0, &window, [&window, other = parser.value(compareOption)] { window.explorer()->compareWith(other); });
    if (parser.isSet(quickOption)) QTimer::singleShot(0, &window, &souplab::gui::MainWindow::quickStart);
  }
  return app.exec();
}
