#pragma once
// The domain table: one row per domain editing h on the simplex (the rules live in
// SimplexWeights): the domain's name, a slider, a spin box with the exact weight in %, a lock,
// and the specialist's loss with its change against the explorer's reference. Above: presets
// and undo/redo; a filter (name search, "only non-zero") and a sort order (corpus, name, weight,
// loss, largest change) so that tens or hundreds of domains stay usable — the chart shows the
// same domains in the same order (visibleDomainsChanged); and groups whose members move together
// (their total is one slider; the inner mixture is kept): one per shared name prefix ("code_*"),
// and the user's own ("Group these" makes one of the domains the filter shows). Below: a line
// edit taking "name=0.3,other=0.7", "uniform" or "onehot:name". Filtering, sorting and grouping
// never change h.
//
// Every change goes through the QUndoStack; consecutive moves of one slider within one gesture
// (press..release, or a run of key presses) merge into one undo step.
#include <QStringList>
#include <QWidget>
#include <vector>

#include "app/glue/simplex_weights.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QToolButton;
class QScrollArea;
class QSlider;
class QUndoStack;

namespace souplab::gui {

class DomainSliders : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kSliderSteps = 1000;  // 0.1 % per slider step

  explicit DomainSliders(QWidget* parent = nullptr);

  // New domains: rows rebuilt, h reset to uniform, undo history cleared; emits weightsChanged.
  // trainingMixture feeds the "Training mixture" preset (ignored unless it has one entry per
  // domain).
  void setDomains(const QStringList& names, const std::vector<double>& trainingMixture = {});
  QStringList domains() const { return m_names; }
  const std::vector<double>& weights() const { return m_model.weights(); }
  bool isLocked(int index) const { return m_model.isLocked(size_t(index)); }
  QUndoStack* undoStack() const { return m_undo; }
  QSlider* slider(int index) const;
  QCheckBox* lockBox(int index) const;
  QString lastError() const { return m_lastError; }
  // The domains the filter shows, in the table's order.
  const std::vector<int>& visibleDomains() const { return m_visible; }
  void setFilter(const QString& text, bool onlyNonZero);

  // The table's order; the loss-based ones need setLosses (without losses: corpus order).
  enum class SortOrder { Corpus, Name, Weight, Loss, LargestChange };
  void setSortOrder(SortOrder order);
  SortOrder sortOrder() const;
  // Every domain's loss under the specialist and the reference (empty: none yet); shown in the
  // table and used by the loss-based orders. A re-sort waits for a drag to end.
  void setLosses(const std::vector<double>& specialist, const std::vector<double>& reference);
  QString lossText(int index) const;  // what the row's loss column says

  // Groups: the automatic ones (a name prefix shared by 2+ domains) first, then the user's.
  int groupCount() const { return int(m_groups.size()); }
  QString groupName(int g) const;
  std::vector<size_t> groupMembers(int g) const;
  QSlider* groupSlider(int g) const;
  // A user group of these domains (2 or more, not all); returns its index, or -1.
  int addGroup(const QString& name, const std::vector<int>& members);
  void removeGroup(int g);  // only user groups can be removed

 public Q_SLOTS:
  // What a drag does: merges with the previous move of the same slider in the same gesture.
  void moveSlider(int index, double weight);
  // A group's slider: its members' total moves to weight (same gesture rules as a slider).
  void moveGroup(int group, double weight);
  // "Group these": a user group of the domains the filter shows, named by the filter.
  void groupVisible();
  // Ends the current gesture: the next move starts a new undo step.
  void endGesture() { ++m_gesture; }
  void setLocked(int index, bool locked);
  void applyUniform();
  void applyOneHot(int index);
  void applyTrainingMixture();
  // parse_domain_weights syntax. Returns false (and shows/keeps the message) on a bad text.
  bool applyText(const QString& text);
  // Weights from elsewhere (a target text's estimate), one per domain, as one undo step.
  void applyWeights(const std::vector<double>& h, const QString& description);

 Q_SIGNALS:
  void weightsChanged(const std::vector<double>& h);
  void visibleDomainsChanged(const std::vector<int>& indices);

 private:
  struct Row {
    QLabel* name = nullptr;
    QSlider* slider = nullptr;
    QDoubleSpinBox* spin = nullptr;
    QCheckBox* lock = nullptr;
    QLabel* loss = nullptr;
  };
  struct Group {
    QString name;
    std::vector<size_t> members;
    bool user = false;
    QLabel* label = nullptr;
    QSlider* slider = nullptr;
    QDoubleSpinBox* spin = nullptr;
    QToolButton* remove = nullptr;
  };

  void buildRows();
  void buildAutomaticGroups();
  void addGroupRow(Group group);
  int groupOf(const QSlider* slider) const;  // the group of that slider (-1: none)
  void layoutRows();  // grid positions <- groups, then the domains in m_order
  void applySort();   // m_order <- the sort order; relays out and re-emits the view when it changed
  double change(size_t i) const;  // relative change of domain i vs the reference (NaN: unknown)
  bool dragging() const;
  void onPresetChosen(int comboIndex);
  void pushChange(const std::vector<double>& after, int slider, const QString& text);
  void applyExact(const std::vector<double>& h);  // the undo commands' way in
  void refresh();                                 // widgets <- model, without feedback signals
  void showError(const QString& message);
  void applyFilter();  // rows <- the filter; emits visibleDomainsChanged when the set changes

  SimplexWeights m_model;
  QStringList m_names;
  std::vector<double> m_trainingMixture;
  std::vector<Row> m_rows;
  quint64 m_gesture = 0;
  QString m_lastError;

  QUndoStack* m_undo = nullptr;
  QComboBox* m_presets = nullptr;
  QScrollArea* m_scroll = nullptr;
  QWidget* m_rowsHost = nullptr;
  QGridLayout* m_grid = nullptr;
  QLineEdit* m_text = nullptr;
  QLabel* m_status = nullptr;
  QLineEdit* m_filter = nullptr;
  QCheckBox* m_nonZero = nullptr;
  QComboBox* m_sort = nullptr;
  QPushButton* m_groupVisible = nullptr;
  std::vector<int> m_visible;
  std::vector<int> m_order;  // every domain, in the table's order
  std::vector<Group> m_groups;
  std::vector<double> m_specialistLoss, m_referenceLoss;
  bool m_sortPending = false;  // losses or weights changed during a drag
};

}  // namespace souplab::gui
