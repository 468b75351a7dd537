#pragma once
// One undoable change of the domain weights: the whole h before and after, so undo restores
// exactly (no re-derivation through the proportional rescaling, which is not invertible).
// Consecutive moves of one slider within one gesture (a drag, or a run of key presses) merge
// into a single command, so one drag is one undo step.
#include <QUndoCommand>
#include <functional>
#include <vector>

namespace souplab::gui {

class WeightsUndoCommand : public QUndoCommand {
 public:
  using Apply = std::function<void(const std::vector<double>&)>;

  // slider >= 0 makes the command mergeable with the next one for the same slider and gesture;
  // -1 (presets, typed vectors) never merges.
  WeightsUndoCommand(Apply apply, std::vector<double> before, std::vector<double> after,
                     int slider, quint64 gesture, const QString& text);

  void undo() override;
  void redo() override;
  int id() const override;
  bool mergeWith(const QUndoCommand* other) override;

  const std::vector<double>& before() const { return m_before; }
  const std::vector<double>& after() const { return m_after; }

 private:
  Apply m_apply;
  std::vector<double> m_before;
  std::vector<double> m_after;
  int m_slider;
  quint64 m_gesture;
};

}  // namespace souplab::gui
