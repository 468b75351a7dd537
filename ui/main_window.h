#pragma once
// The main window: the bank panel (dock), and four tabs — specialist explorer, training
// monitor, run browser, merge — behind a welcome page on first launch. Owns nothing that computes:
// training, bank reading and inference all run on worker threads of the widgets it holds.
#include <QMainWindow>
#include <QStringList>

class QLabel;
class QMenu;
class QStackedWidget;
class QTabWidget;

namespace souplab::gui {

class BankFactsLoader;
class BankPanel;
class MergePage;
class RunBrowser;
class CompareView;
class SpecialistExplorer;
class TrainingMonitor;
class WelcomePage;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  enum Tab { ExplorerTab = 0, TrainingTab = 1, RunsTab = 2, MergeTab = 3, CompareTab = 4 };

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // True when no bank was ever opened and the run log holds no run: show the welcome page.
  static bool isFirstLaunch();

  SpecialistExplorer* explorer() const { return m_explorer; }
  TrainingMonitor* monitor() const { return m_monitor; }
  RunBrowser* runBrowser() const { return m_runs; }
  MergePage* mergePage() const { return m_merge; }
  BankPanel* bankPanel() const { return m_bankPanel; }
  WelcomePage* welcomePage() const { return m_welcome; }
  QTabWidget* tabs() const { return m_tabs; }
  bool isShowingWelcome() const;
  void showTab(Tab tab);
  QStringList recentFiles() const;

 public Q_SLOTS:
  void openBankDialog();
  void openBank(const QString& path);
  void quickStart();
  void newRun();
  void resumeRun();
  void clusterCorpus();  // "New corpus from unlabelled text…"
  void about();
  // Closes as the close button does, without asking: stops training (a checkpoint is saved) and
  // quits. For SIGINT/SIGTERM, where nobody is there to answer a dialog.
  void closeWithoutConfirmation();

 protected:
  void closeEvent(QCloseEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  void buildMenus();
  void rebuildRecentMenu();
  void addRecentFile(const QString& path);
  void showError(const QString& message);
  void setDeviceLabel(const QString& device);
  // Shrinks and moves the window (frame included) into its screen's available area: a geometry
  // restored from a larger monitor, or the default size on a laptop, never hangs off screen.
  void fitToScreen();

  QStackedWidget* m_stack = nullptr;
  WelcomePage* m_welcome = nullptr;
  QTabWidget* m_tabs = nullptr;
  SpecialistExplorer* m_explorer = nullptr;
  TrainingMonitor* m_monitor = nullptr;
  RunBrowser* m_runs = nullptr;
  MergePage* m_merge = nullptr;
  CompareView* m_compare = nullptr;  // post-hoc methods vs the soup (issue 9)
  BankPanel* m_bankPanel = nullptr;
  BankFactsLoader* m_factsLoader = nullptr;
  QMenu* m_recentMenu = nullptr;
  QLabel* m_deviceLabel = nullptr;
  bool m_confirmClose = true;
};

}  // namespace souplab::gui
