#pragma once
// The runs of the SQLite run log in a table (name, kind, status, steps, best validation loss,
// started). Selecting rows overlays their mean validation curves (soup, dense and MoE runs
// alike); selecting one MoE run also shows its expert-load heat map. Reads through its own RunLog
// connection, opened on the GUI thread and used only there (one connection per thread).
#include <QHash>
#include <QWidget>

#include <memory>

class QLabel;
class QPushButton;
class QStandardItemModel;
class QTableView;

namespace souplab {
class RunLog;
}

namespace souplab::gui {

class LossPlot;
class ExpertLoadMap;

class RunBrowser : public QWidget {
  Q_OBJECT
 public:
  enum Column { ColId, ColName, ColKind, ColStatus, ColSteps, ColBestVal, ColStarted, ColCount };

  explicit RunBrowser(QWidget* parent = nullptr);
  ~RunBrowser() override;

  // Empty: the engine's default run log. Takes effect at the next refresh.
  void setRunLogPath(const QString& path);
  int runCount() const;
  QTableView* table() const { return m_table; }
  LossPlot* overlayPlot() const { return m_plot; }
  ExpertLoadMap* expertLoadMap() const { return m_loadMap; }
  void selectRuns(const QList<qint64>& runIds);

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void openCheckpointRequested(const QString& checkpointPath);
  void resumeRequested(const QString& checkpointPath);

 private:
  bool ensureLog();
  void updateOverlay();
  void updateButtons();
  void updateExpertLoad();
  QString selectedCheckpoint() const;

  QString m_path;
  std::unique_ptr<RunLog> m_log;
  QStandardItemModel* m_model = nullptr;
  QTableView* m_table = nullptr;
  LossPlot* m_plot = nullptr;
  ExpertLoadMap* m_loadMap = nullptr;  // visible when one MoE run is selected
  QLabel* m_status = nullptr;
  QPushButton* m_openButton = nullptr;
  QPushButton* m_resumeButton = nullptr;
  QHash<qint64, QString> m_checkpoints;  // run id -> latest checkpoint path
};

}  // namespace souplab::gui
