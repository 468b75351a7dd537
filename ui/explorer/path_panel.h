#pragma once
// "Path" (docs/DESIGN.md §8): pin the specialist on screen as h_A, move the sliders to h_B, and see
// the loss along the way, two ways: along h(t) = (1 - t) h_A + t h_B (the soup's own path: a
// specialist instantiated at every point) and along the straight segment between the two
// specialists' weights (a linear merge of the two models, which is not the same thing), with the
// reference's level (the soup at uniform h, or the model compared with) on the same windows.
// The curves follow the sliders: a path is traced whenever the full-tier specialist changes while
// A is pinned (one in flight at a time; the newest h wins). Computed off the GUI thread by the
// explorer's service (ExplorerSession::requestPath). Export: CSV of every domain, PNG or PDF.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <vector>

#include "app/glue/explorer_frame.h"
#include "app/glue/inference_worker.h"

class QCPGraph;
class QCustomPlot;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace souplab::gui {

class ExplorerSession;

class PathPanel : public QWidget {
  Q_OBJECT

 public:
  explicit PathPanel(ExplorerSession* session, QWidget* parent = nullptr);

  // The explorer calls these as the session reports: a new bank (its domain names), each frame.
  void setDomains(const QStringList& domains);
  void showFrame(const FramePtr& frame);

  // Pins the specialist on screen as h_A (false: none shown yet). unpin() forgets it.
  bool pinCurrent();
  void unpin();
  // A newer checkpoint of the same bank was loaded: A stays pinned and the path is traced again
  // with the next full-tier specialist (an answer in flight belonged to the old weights).
  void retrace();
  bool isPinned() const { return !m_hA.empty(); }
  const PathResult* path() const { return m_path.points.empty() ? nullptr : &m_path; }
  // The curve shown: -1 the mean over domains, else one domain.
  void setShownDomain(int domain);
  QCPGraph* alongH() const { return m_alongH; }
  QCPGraph* alongWeights() const { return m_alongWeights; }
  QCPGraph* referenceLevel() const { return m_reference; }
  // .csv: t and every domain's loss both ways (and the reference's); .png / .pdf: the plot.
  bool exportTo(const QString& path, QString* error) const;

 Q_SIGNALS:
  void pathShown();  // a new path is on screen (tests wait on it)

 private:
  void onPath(const PathResult& path);
  void traceIfWanted();
  void render();
  void exportDialog();

  ExplorerSession* m_session;
  QStringList m_domains;
  std::vector<double> m_hA, m_hB;   // pinned end, and the end traced (or being traced) last
  std::vector<double> m_shownH;     // the full-tier specialist's h on screen
  bool m_inFlight = false;
  quint64 m_requestId = 0;          // the path request whose answer is wanted
  PathResult m_path;
  QString m_referenceLabel;

  QPushButton *m_pin = nullptr, *m_export = nullptr;
  QSpinBox* m_points = nullptr;
  QComboBox* m_domain = nullptr;
  QLabel* m_caption = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPGraph *m_alongH = nullptr, *m_alongWeights = nullptr, *m_reference = nullptr;
};

}  // namespace souplab::gui
