#pragma once
// Domain weights h edited one coordinate at a time while staying on the simplex (Qt-free, so the
// rules are unit-tested without widgets). The domain sliders are a view of this model.
//
// Rules (docs/DESIGN.md §1.1.1: h_i >= 0, sum h_i = 1):
//  - setWeight(i, v) moves one weight; the OTHER UNLOCKED weights absorb the difference in
//    proportion to their current values (all zero: they share it equally).
//  - A locked weight keeps its value under other weights' moves and cannot itself be moved.
//  - v is clamped to [0, 1 - sum(locked)], and to exactly that bound when no other weight is free
//    to absorb the rest.
//  - setGroupWeight(members, v) moves a group's total (a user's "all code"): the group's
//    unlocked members share it in proportion to their current values, so the group's inner
//    mixture is kept, and the unlocked non-members absorb the difference as above. Moving one
//    weight is the group of one.
//  - setWeights(h) (presets, typed vectors, undo/redo) replaces h as given after normalisation;
//    the lock flags stay. Exactly given vectors (already on the simplex) are kept bit for bit,
//    which is what lets undo restore exactly.
#include <cstddef>
#include <vector>

namespace souplab {

class SimplexWeights {
 public:
  explicit SimplexWeights(size_t k = 0);

  size_t size() const { return m_weights.size(); }
  const std::vector<double>& weights() const { return m_weights; }
  double weight(size_t i) const { return m_weights.at(i); }

  bool isLocked(size_t i) const { return m_locked.at(i); }
  const std::vector<bool>& locks() const { return m_locked; }
  void setLocked(size_t i, bool locked);
  double lockedSum() const;
  // The largest value weight i may take now: 1 - sum of the other locked weights.
  double maxWeight(size_t i) const;

  // Moves weight i towards v (see the rules above). Returns the value actually set; a locked
  // weight is left alone and its current value returned.
  double setWeight(size_t i, double v);

  // The sum of the members' weights, and moving it towards v (the rules above): clamped to
  // [locked members' sum, 1 - locked non-members' sum]. Returns the total actually set. Members
  // out of range or repeated are ignored; no unlocked member: nothing moves.
  double groupWeight(const std::vector<size_t>& members) const;
  double setGroupWeight(const std::vector<size_t>& members, double v);

  // Replaces h. Throws souplab::Error (from normalize_domain_weights) for a wrong length, a
  // negative or non-finite entry, or all zeros. A vector whose sum is 1 within 1e-12 is kept
  // as given.
  void setWeights(const std::vector<double>& h);

  // Presets.
  void setUniform();
  void setOneHot(size_t index);

 private:
  std::vector<double> m_weights;
  std::vector<bool> m_locked;
};

}  // namespace souplab
