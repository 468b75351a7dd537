#include "ui/explorer/weights_undo_command.h"

#include <utility>

namespace souplab::gui {

namespace {
// QUndoCommand ids must be unique per command kind; a slider index alone would collide with
// other stacks' ids if commands were ever mixed, so offset them.
constexpr int kSliderIdBase = 0x50000;
}  // namespace

WeightsUndoCommand::WeightsUndoCommand(Apply apply, std::vector<double> before,
                                       std::vector<double> after, int slider, quint64 gesture,
                                       const QString& text)
    : m_apply(std::move(apply)),
      m_before(std::move(before)),
      m_after(std::move(after)),
      m_slider(slider),
      m_gesture(gesture) {
  setText(text);
}

void WeightsUndoCommand::undo() { m_apply(m_before); }

void WeightsUndoCommand::redo() { m_apply(m_after); }

int WeightsUndoCommand::id() const { return m_slider < 0 ? -1 : kSliderIdBase + m_slider; }

bool WeightsUndoCommand::mergeWith(const QUndoCommand* other) {
  // QUndoStack merges only commands of equal id(), and the slider ids are this class's alone
  // (Qt's documented idiom), so `other` is a WeightsUndoCommand.
  if (other->id() != id()) return false;
  const auto* next = static_cast<const WeightsUndoCommand*>(other);
  if (next->m_slider != m_slider || next->m_gesture != m_gesture) return false;
  m_after = next->m_after;
  // A drag that ends where it started leaves nothing to undo.
  if (m_after == m_before) setObsolete(true);
  return true;
}

}  // namespace souplab::gui
