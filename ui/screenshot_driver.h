#pragma once
// Drives the main window through a short scripted session for the documentation screenshots
// (`souplab --demo-screenshots DIR`, run under Xvfb by scripts/screenshots.sh): trains a tiny
// bank on the demo corpus, opens it, moves the domain sliders and grabs each tab to DIR/*.png.
// With SOUPLAB_SCREENSHOT_BANK=CKPT it opens that bank instead and grabs the explorer's views only
// (scripts/screenshots.sh BUILD OUT CKPT PREFIX).
// Exits the application with 0 on success, 1 on failure or after a time limit.
#include <QObject>
#include <QString>
#include <QTimer>
#include <functional>

namespace souplab::gui {

class MainWindow;

class ScreenshotDriver : public QObject {
  Q_OBJECT
 public:
  ScreenshotDriver(MainWindow* window, const QString& outDir, QObject* parent = nullptr);
  void start();

 private:
  bool grab(QWidget* widget, const QString& name);
  void onTrainingEnded();
  void onBankShown();
  // The explorer's tabs below the chart: inside the soup, the path, the landscape; then `then`.
  void grabInsideViews(std::function<void()> then);
  void grabRuns();
  void moveSliders(bool towardsLast = false);
  void finish(int code, const QString& why);

  MainWindow* m_window;
  QString m_outDir;
  QTimer m_deadline;
  bool m_bankShown = false;
  bool m_explorerOnly = false;  // SOUPLAB_SCREENSHOT_BANK: a given bank's explorer views only
  QString m_prefix;             // SOUPLAB_SCREENSHOT_PREFIX: before every file name
};

}  // namespace souplab::gui
