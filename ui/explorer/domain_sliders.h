#pragma once
// One slider per domain editing h on the simplex (the rules live in SimplexWeights): each row is
// the domain's name, a slider, a spin box with the exact weight in %, and a lock. Above: presets
// and undo/redo, and a filter (name search, "only non-zero") that hides rows, so tens of domains
// stay usable; the chart shows the same domains (visibleDomainsChanged). Below: a line edit
// taking "name=0.3,other=0.7", "uniform" or "onehot:name". Filtering never changes h.
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
  // The domains the filter shows, in order.
  const std::vector<int>& visibleDomains() const { return m_visible; }
  void setFilter(const QString& text, bool onlyNonZero);

 public Q_SLOTS:
  // What a drag does: merges with the previous move of the same slider in the same gesture.
  void moveSlider(int index, double weight);
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
  };

  void buildRows();
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
  std::vector<int> m_visible;
};

}  // namespace souplab::gui
