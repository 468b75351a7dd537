#pragma once
// The runs of the SQLite run log in a table (name, kind, status, steps, best validation loss,
// started). Selecting rows overlays their mean validation curves. Reads through its own RunLog
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
  QString selectedCheckpoint() const;

  QString m_path;
  std::unique_ptr<RunLog> m_log;
  QStandardItemModel* m_model = nullptr;
  QTableView* m_table = nullptr;
  LossPlot* m_plot = nullptr;
  QLabel* m_status = nullptr;
  QPushButton* m_openButton = nullptr;
  QPushButton* m_resumeButton = nullptr;
  QHash<qint64, QString> m_checkpoints;  // run id -> latest checkpoint path
};

}  // namespace souplab::gui
