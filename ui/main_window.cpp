#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>

#include <algorithm>

#include "app/glue/bank_facts_loader.h"
#include "app/glue/quick_start.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/device.h"
#include "ui/bank_panel.h"
#include "ui/corpus/cluster_dialog.h"
#include "ui/compare/compare_view.h"
#include "ui/explorer/export_dialog.h"
#include "ui/explorer/finetune_dialog.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/merge/merge_page.h"
#include "ui/qcustomplot_include.h"
#include "ui/runs/run_browser.h"
#include "ui/training/training_monitor.h"
#include "ui/welcome_page.h"

namespace souplab::gui {

namespace {
constexpr int kMaxRecent = 8;
const char* kRecentKey = "bank/recentFiles";
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("SoupLab"));
  m_welcome = new WelcomePage(this);
  m_explorer = new SpecialistExplorer(this);
  m_monitor = new TrainingMonitor(this);
  m_runs = new RunBrowser(this);
  m_merge = new MergePage(this);
  m_tabs = new QTabWidget(this);
  m_tabs->addTab(m_explorer, tr("Specialist explorer"));
  m_tabs->addTab(m_monitor, tr("Training"));
  m_tabs->addTab(m_runs, tr("Runs"));
  m_tabs->addTab(m_merge, tr("Merge"));
  m_compare = new CompareView(this);
  m_tabs->addTab(m_compare, tr("Compare"));
  m_stack = new QStackedWidget(this);
  m_stack->addWidget(m_welcome);
  m_stack->addWidget(m_tabs);
  setCentralWidget(m_stack);

  m_bankPanel = new BankPanel(this);
  auto* dock = new QDockWidget(tr("Bank"), this);
  dock->setObjectName(QStringLiteral("bankDock"));
  dock->setWidget(m_bankPanel);
  dock->setMinimumWidth(240);
  addDockWidget(Qt::LeftDockWidgetArea, dock);
  m_factsLoader = new BankFactsLoader(this);

  m_deviceLabel = new QLabel(this);
  statusBar()->addPermanentWidget(m_deviceLabel);
  try {
    setDeviceLabel(QString::fromStdString(select_device("auto").device));
  } catch (const std::exception& e) {
    setDeviceLabel(QString::fromStdString(e.what()));
  }
  buildMenus();

  connect(m_welcome, &WelcomePage::quickStartRequested, this, &MainWindow::quickStart);
  connect(m_welcome, &WelcomePage::openBankRequested, this, &MainWindow::openBankDialog);
  connect(m_welcome, &WelcomePage::newRunRequested, this, &MainWindow::newRun);
  connect(m_bankPanel, &BankPanel::openRequested, this, &MainWindow::openBankDialog);
  connect(m_explorer, &SpecialistExplorer::errorOccurred, this, &MainWindow::showError);
  connect(m_compare, &CompareView::errorOccurred, this, &MainWindow::showError);
  connect(m_explorer, &SpecialistExplorer::exportRequested, this, [this](const std::vector<double>& h) {
    // The explorer's own bank: what the sliders show is what gets exported.
    auto bank = m_explorer->session()->bank();
    if (!bank) return showError(tr("No bank is loaded: nothing to export"));
    auto* dialog = new ExportDialog(bank, h, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &ExportDialog::exported, m_runs, &RunBrowser::refresh);
    dialog->open();
  });
  connect(m_explorer, &SpecialistExplorer::finetuneRequested, this, [this](const std::vector<double>& h) {
    auto bank = m_explorer->session()->bank();
    if (!bank) return showError(tr("No bank is loaded: nothing to fine-tune"));
    auto* dialog = new FinetuneDialog(bank, h, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &FinetuneDialog::finetuned, m_runs, &RunBrowser::refresh);
    dialog->open();
  });
  connect(m_factsLoader, &BankFactsLoader::loaded, this,
          [this](const QString& path, const souplab::ModelFacts& facts) {
            m_bankPanel->showFacts(facts);
            statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
          });
  connect(m_factsLoader, &BankFactsLoader::loadFailed, m_bankPanel, &BankPanel::showError);
  connect(m_monitor, &TrainingMonitor::openInExplorerRequested, this, &MainWindow::openBank);
  // A run open in the explorer follows its training: each new checkpoint reloads in place.
  connect(m_monitor, &TrainingMonitor::checkpointSaved, m_explorer, &SpecialistExplorer::followCheckpoint);
  connect(m_monitor, &TrainingMonitor::deviceChanged, this, &MainWindow::setDeviceLabel);
  connect(m_monitor, &TrainingMonitor::runStarted, m_runs, &RunBrowser::refresh);
  connect(m_monitor, &TrainingMonitor::runEnded, m_runs, &RunBrowser::refresh);
  // A dense baseline that just finished shows up in the explorer's reference picker.
  connect(m_monitor, &TrainingMonitor::runEnded, m_explorer, &SpecialistExplorer::refreshBaselines);
  connect(m_monitor, &TrainingMonitor::runEnded, this, [this] {
    if (!m_monitor->lastCheckpoint().isEmpty())
      statusBar()->showMessage(
          tr("Run ended: “Open in explorer” on the Training tab shows its specialists"), 10000);
  });
  connect(m_runs, &RunBrowser::openCheckpointRequested, this, &MainWindow::openBank);
  connect(m_explorer, &SpecialistExplorer::trainBaselineRequested, this, [this](const souplab::RunConfig& config) {
    TrainRequest request;
    request.config = config;
    if (m_monitor->startRun(request)) {
      showTab(TrainingTab);
      statusBar()->showMessage(tr("Training a dense baseline with the bank's budget; the explorer compares with it when it ends"), 10000);
    }
  });
  connect(m_runs, &RunBrowser::resumeRequested, this, [this](const QString& path) {
    TrainRequest request;
    request.resumeCheckpoint = path;
    if (m_monitor->startRun(request)) showTab(TrainingTab);
  });

  QSettings settings;
  restoreGeometry(settings.value("window/geometry").toByteArray());
  restoreState(settings.value("window/state").toByteArray());
  if (!settings.contains("window/geometry")) {  // first launch: most of the screen, up to 1440 x 900
    const QSize avail = screen() ? screen()->availableGeometry().size() : QSize(1280, 820);
    resize(QSize(1440, 900).boundedTo(avail * 0.96));
  }
  fitToScreen();
  m_tabs->setCurrentIndex(settings.value("window/tab", int(ExplorerTab)).toInt());
  m_stack->setCurrentWidget(isFirstLaunch() ? static_cast<QWidget*>(m_welcome) : m_tabs);
  m_runs->refresh();
}

MainWindow::~MainWindow() = default;

void MainWindow::fitToScreen() {
  const QScreen* s = screen();
  if (!s) return;
  const QRect avail = s->availableGeometry();
  // The frame (title bar, borders) is known once shown; before that, allow a typical one.
  const QSize frame = isVisible() ? frameGeometry().size() - geometry().size() : QSize(8, 32);
  const QSize most = (avail.size() - frame).expandedTo(minimumSizeHint());
  if (size().width() > most.width() || size().height() > most.height()) resize(size().boundedTo(most));
  QRect box = frameGeometry();
  if (!avail.contains(box)) {
    box.moveLeft(std::clamp(box.left(), avail.left(), std::max(avail.left(), avail.right() - box.width() + 1)));
    box.moveTop(std::clamp(box.top(), avail.top(), std::max(avail.top(), avail.bottom() - box.height() + 1)));
    move(box.topLeft());
  }
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  fitToScreen();  // now with the real frame
}

bool MainWindow::isFirstLaunch() {
  if (QSettings().value("bank/everOpened", false).toBool()) return false;
  const QString log = QString::fromStdString(default_run_log_path());
  if (!QFileInfo::exists(log)) return true;
  try {
    return RunLog(log.toStdString()).list_runs().empty();
  } catch (const std::exception&) {
    return true;  // an unreadable log: the run browser will say why
  }
}

bool MainWindow::isShowingWelcome() const { return m_stack->currentWidget() == m_welcome; }

void MainWindow::showTab(Tab tab) {
  m_stack->setCurrentWidget(m_tabs);
  m_tabs->setCurrentIndex(int(tab));
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open bank…"), QKeySequence::Open, this, &MainWindow::openBankDialog);
  m_recentMenu = file->addMenu(tr("Open &recent"));
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  rebuildRecentMenu();

  QMenu* train = menuBar()->addMenu(tr("&Train"));
  train->addAction(tr("&Quick start on the demo corpus"), this, &MainWindow::quickStart);
  train->addAction(tr("&New run…"), QKeySequence::New, this, &MainWindow::newRun);
  train->addAction(tr("&Resume…"), this, &MainWindow::resumeRun);
  train->addSeparator();
  train->addAction(tr("New &corpus from unlabelled text…"), this, &MainWindow::clusterCorpus);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About SoupLab"), this, &MainWindow::about);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

QStringList MainWindow::recentFiles() const {
  return QSettings().value(kRecentKey).toStringList();
}

void MainWindow::rebuildRecentMenu() {
  m_recentMenu->clear();
  const QStringList files = recentFiles();
  for (const QString& path : files) {
    QAction* action = m_recentMenu->addAction(QFileInfo(path).fileName(), this,
                                              [this, path] { openBank(path); });
    action->setToolTip(path);
    action->setEnabled(QFileInfo::exists(path));
  }
  m_recentMenu->setEnabled(!files.isEmpty());
  if (!files.isEmpty()) {
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(tr("Clear list"), this, [this] {
      QSettings().remove(kRecentKey);
      rebuildRecentMenu();
    });
  }
}

void MainWindow::addRecentFile(const QString& path) {
  QStringList files = recentFiles();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMaxRecent) files.removeLast();
  QSettings().setValue(kRecentKey, files);
  rebuildRecentMenu();
}

void MainWindow::openBankDialog() {
  QSettings settings;
  const QString start = settings.value("paths/lastOpenDir",
                                       QString::fromStdString(default_runs_dir())).toString();
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open bank"), start,
      tr("Banks and specialists (*.ckpt *.safetensors);;All files (*)"));
  if (path.isEmpty()) return;
  settings.setValue("paths/lastOpenDir", QFileInfo(path).absolutePath());
  openBank(path);
}

void MainWindow::openBank(const QString& path) {
  if (path.isEmpty()) return;
  if (!QFileInfo::exists(path)) {
    showError(tr("%1: no such file").arg(path));
    return;
  }
  const QString absolute = QFileInfo(path).absoluteFilePath();
  QSettings().setValue("bank/everOpened", true);
  addRecentFile(absolute);
  m_bankPanel->showLoading(absolute);
  m_factsLoader->load(absolute);
  m_explorer->setBank(absolute);
  showTab(ExplorerTab);
  setWindowTitle(tr("%1 — SoupLab").arg(QFileInfo(absolute).fileName()));
}

void MainWindow::quickStart() {
  if (m_monitor->isTraining()) {
    showTab(TrainingTab);
    return;
  }
  m_welcome->setBusy(tr("Starting…"));
  showTab(TrainingTab);
  m_monitor->startRun(quickStartRequest());
}

void MainWindow::newRun() {
  showTab(TrainingTab);
  m_monitor->newRun();
}

void MainWindow::clusterCorpus() {
  auto* dialog = new ClusterDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &ClusterDialog::trainRequested, this, [this](const QString& corpus) {
    showTab(TrainingTab);
    m_monitor->newRunOn(corpus);
  }, Qt::QueuedConnection);  // after the cluster dialog has closed
  dialog->open();
}

void MainWindow::resumeRun() {
  showTab(TrainingTab);
  m_monitor->resumeRun();
}

void MainWindow::about() {
  QMessageBox::about(
      this, tr("About SoupLab"),
      tr("<h3>SoupLab %1</h3><p>Train and explore Soup-of-Experts model banks.</p>"
         "<p>Qt %2 (built with %3)<br>%4<br>QCustomPlot %5<br>Devices: %6</p>"
         "<p>Licence: GPL-3.0-or-later.</p>")
          .arg(QStringLiteral(SOUPLAB_VERSION), QString::fromLatin1(qVersion()),
               QStringLiteral(QT_VERSION_STR),
               QString::fromStdString(torch_version_string()),
               QStringLiteral(QCUSTOMPLOT_VERSION_STR),
               QString::fromStdString(available_devices_string())));
}

void MainWindow::showError(const QString& message) {
  statusBar()->showMessage(message, 15000);
  QMessageBox::warning(this, tr("SoupLab"), message);
}

void MainWindow::setDeviceLabel(const QString& device) {
  m_deviceLabel->setText(tr("Device: %1").arg(device));
}

void MainWindow::closeWithoutConfirmation() {
  m_confirmClose = false;
  close();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (m_monitor->isTraining()) {
    const auto answer = !m_confirmClose ? QMessageBox::Yes : QMessageBox::question(
        this, tr("Training in progress"),
        tr("A run is training. Stop it (a checkpoint is saved, so it can be resumed) and quit?"),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Yes);
    if (answer != QMessageBox::Yes) {
      event->ignore();
      return;
    }
    statusBar()->showMessage(tr("Saving a checkpoint…"));
    QApplication::setOverrideCursor(Qt::WaitCursor);
    m_monitor->stopAndWait();
    QApplication::restoreOverrideCursor();
  }
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  settings.setValue("window/tab", m_tabs->currentIndex());
  event->accept();
}

}  // namespace souplab::gui
