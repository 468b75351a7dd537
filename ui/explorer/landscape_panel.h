#pragma once
// "Landscape" (docs/DESIGN.md §8): the loss on a target over the 2-simplex of three domains'
// weights, every other domain's weight as on the sliders, as a ternary heat map. Corner c is the
// specialist with all of the three domains' joint weight on domain c. Computed off the GUI thread
// (LandscapeWorker, background class) coarse first (4 steps per edge, 15 specialists), then at 8
// and 16 while the user looks; the sliders' h, the target text's histogram h and its fitted h are
// marked; a click moves the sliders to the point clicked. The target: one domain's validation
// windows, h's own mixture of them, or the target text of "Specialist for this text".
// Export: CSV of the finest grid, PNG or PDF of the map.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <array>
#include <optional>
#include <vector>

#include "app/glue/explorer_frame.h"
#include "app/glue/landscape_worker.h"

class QCPColorMap;
class QCPGraph;
class QCustomPlot;
class QComboBox;
class QLabel;
class QMouseEvent;
class QPushButton;

namespace souplab::gui {

class ExplorerSession;

class LandscapePanel : public QWidget {
  Q_OBJECT

 public:
  explicit LandscapePanel(ExplorerSession* session, QWidget* parent = nullptr);

  void setDomains(const QStringList& domains);
  void showFrame(const FramePtr& frame);
  // The target text's estimates ("Specialist for this text"): marked on the map.
  void setEstimate(const std::vector<double>& h, bool fitted);

  // The three corners (domain indices) and the target: -1 h's mixture, -2 the target text, else
  // a domain. Both restart the computation.
  void setCorners(const std::array<int, 3>& corners);
  void setTarget(int target);
  // A newer checkpoint of the same bank was loaded: the same corners, target and marks, the map
  // computed again (now if shown, else when shown).
  void refresh();
  std::array<int, 3> corners() const { return m_corners; }
  const LandscapeGrid* grid() const { return m_grid.points.empty() ? nullptr : &m_grid; }
  QCPColorMap* map() const { return m_map; }
  // What a click at these shares of the three corners does: weightsPicked with the base's
  // other domains and the three sharing their joint weight so.
  void pick(const std::array<double, 3>& shares);
  bool exportTo(const QString& path, QString* error) const;

  // Ternary coordinates: corner 0 at (0, 0), corner 1 at (1, 0), corner 2 at (1/2, sqrt(3)/2).
  static QPointF toPlane(const std::array<double, 3>& shares);
  static std::array<double, 3> toShares(const QPointF& plane);

 Q_SIGNALS:
  void weightsPicked(const std::vector<double>& h, const QString& description);
  void gridShown(int resolution, bool finest);

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void recompute();
  void onGrid(const LandscapeGrid& grid);
  void drawMap();
  void drawMarks();
  void onPlotClick(QMouseEvent* event);
  void exportDialog();
  // The three corners' shares of h (nullopt when they carry no weight in h).
  std::optional<std::array<double, 3>> sharesOf(const std::vector<double>& h) const;

  ExplorerSession* m_session;
  LandscapeWorker* m_worker;
  QStringList m_domains;
  std::array<int, 3> m_corners{0, 1, 2};
  int m_target = -1;
  std::vector<double> m_h;          // the sliders' h (full tier)
  std::vector<double> m_base;       // the h the grid on screen was computed from
  std::vector<double> m_histogram, m_fitted;  // the target text's estimates (empty: none)
  quint64 m_request = 0;            // the grid wanted
  bool m_stale = true;              // the inputs changed since the last request
  LandscapeGrid m_grid;
  QString m_targetLabel;             // what the grid on screen is the loss on
  QString m_textLabel;               // the target text's name (empty: none loaded)
  QString m_windowsLabel;            // what each point's loss rests on, for the caption

  QComboBox* m_corner[3] = {nullptr, nullptr, nullptr};
  QComboBox* m_targetBox = nullptr;
  QPushButton* m_export = nullptr;
  QLabel* m_caption = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPColorMap* m_map = nullptr;
  QCPGraph *m_hMark = nullptr, *m_histogramMark = nullptr, *m_fittedMark = nullptr;
};

}  // namespace souplab::gui
