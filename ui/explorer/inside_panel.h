#pragma once
// "Inside the soup" (docs/DESIGN.md §8): what the specialist on screen is made of. The formula
// theta = S + sum_j alpha_j E_j with its numbers, alpha(h) of every expert as bars beside alpha
// at uniform h (how they move while a slider moves), and, in three views on the right: per
// transformer block how far the specialist is from the uniform-h specialist, ||theta_h - theta_u||
// / ||theta_u||; the same and the distance from S per weight matrix, in a table sorted by any
// column; and which experts carry it where, ||alpha_j E_j|| / ||S|| per expert and block, as a
// heat map. A view: the explorer hands it each frame's inspection (computed off the GUI thread
// with the full tier). Export: CSV (alpha, every block's and tensor's distances, the experts'
// shares), PNG or PDF (the plots as shown).
// For a model that is not a soup, what plays alpha's part (souplab/inspect.h MixingRole): a MoE's
// router load per expert (bars: the mean over its MoE blocks; heat map: experts x blocks), the
// expert h chooses among post-hoc experts, a merge's weights; the formula says how they make
// the model. The distance views are a soup's only and are disabled then.
#include <QString>
#include <QVector>
#include <QWidget>
#include <memory>

class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;
class QTabWidget;

namespace souplab {
struct SoupInspection;
struct MixingRole;
}

namespace souplab::gui {

class InsidePanel : public QWidget {
  Q_OBJECT

 public:
  explicit InsidePanel(QWidget* parent = nullptr);

  // Null: nothing to show (a model without experts, or the full tier not in yet).
  void setInspection(std::shared_ptr<const souplab::SoupInspection> inspection);
  const souplab::SoupInspection* inspection() const { return m_inspection.get(); }
  // Shown when there is no inspection (a MoE, post-hoc experts, a merge); null: nothing.
  void setMixing(std::shared_ptr<const souplab::MixingRole> mixing);
  const souplab::MixingRole* mixing() const { return m_mixing.get(); }
  QString formula() const;
  QCPBars* alphaBars() const { return m_alpha; }
  QCPBars* blockBars() const { return m_blocks; }
  QTableWidget* tensorTable() const { return m_tensorTable; }
  QCPColorMap* expertMap() const { return m_expertMap; }
  // By the suffix: .csv the numbers, .pdf / .png the two plots side by side. False with *error
  // naming the file and the problem.
  bool exportTo(const QString& path, QString* error) const;

 private:
  void exportDialog();
  void fillTensorTable(const souplab::SoupInspection& in);
  void showMixing(const souplab::MixingRole& role);
  // cells[x][y] as a heat map, x along the experts (or other parts), y along the blocks.
  void drawMap(const std::vector<std::vector<double>>& cells, const QVector<QString>& xNames,
               const QVector<QString>& yNames, const QString& scaleLabel);
  void setDistanceViewsEnabled(bool enabled);

  std::shared_ptr<const souplab::SoupInspection> m_inspection;
  std::shared_ptr<const souplab::MixingRole> m_mixing;
  QCPColorScale* m_mapScale = nullptr;
  QLabel* m_formula = nullptr;
  QPushButton* m_export = nullptr;
  QCustomPlot *m_alphaPlot = nullptr, *m_blockPlot = nullptr;
  QCPBars *m_alpha = nullptr, *m_alphaUniform = nullptr;  // alpha(h), alpha(uniform h)
  QCPBars* m_blocks = nullptr;                            // distance per block
  QTabWidget* m_views = nullptr;                          // per block, per matrix, experts x blocks
  QTableWidget* m_tensorTable = nullptr;
  QCustomPlot* m_expertPlot = nullptr;
  QCPColorMap* m_expertMap = nullptr;
};

}  // namespace souplab::gui
