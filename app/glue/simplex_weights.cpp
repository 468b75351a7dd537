#include "app/glue/simplex_weights.h"

#include <algorithm>
#include <cmath>

#include "souplab/domain_weights.h"

namespace souplab {

SimplexWeights::SimplexWeights(size_t k) : m_weights(k, k ? 1.0 / double(k) : 0.0), m_locked(k, false) {}

void SimplexWeights::setLocked(size_t i, bool locked) { m_locked.at(i) = locked; }

double SimplexWeights::lockedSum() const {
  double sum = 0;
  for (size_t j = 0; j < m_weights.size(); ++j)
    if (m_locked[j]) sum += m_weights[j];
  return sum;
}

double SimplexWeights::maxWeight(size_t i) const {
  double others = 0;
  for (size_t j = 0; j < m_weights.size(); ++j)
    if (j != i && m_locked[j]) others += m_weights[j];
  return std::max(0.0, 1.0 - others);
}

double SimplexWeights::setWeight(size_t i, double v) {
  if (m_locked.at(i)) return m_weights[i];
  return setGroupWeight({i}, v);
}

double SimplexWeights::groupWeight(const std::vector<size_t>& members) const {
  std::vector<bool> in(m_weights.size(), false);
  double total = 0;
  for (size_t i : members)
    if (i < m_weights.size() && !in[i]) {
      in[i] = true;
      total += m_weights[i];
    }
  return total;
}

double SimplexWeights::setGroupWeight(const std::vector<size_t>& members, double v) {
  const size_t k = m_weights.size();
  std::vector<bool> in(k, false);
  for (size_t i : members)
    if (i < k) in[i] = true;
  std::vector<size_t> freeIn, freeOut;
  double freeInSum = 0, freeOutSum = 0, lockedIn = 0, lockedOut = 0;
  for (size_t j = 0; j < k; ++j) {
    if (m_locked[j]) {
      (in[j] ? lockedIn : lockedOut) += m_weights[j];
    } else if (in[j]) {
      freeIn.push_back(j);
      freeInSum += m_weights[j];
    } else {
      freeOut.push_back(j);
      freeOutSum += m_weights[j];
    }
  }
  if (freeIn.empty() || !std::isfinite(v)) return groupWeight(members);

  const double budget = std::max(lockedIn, 1.0 - lockedOut);
  v = std::clamp(v, lockedIn, budget);
  // Nobody outside can absorb a change: the group is whatever the locked weights leave.
  if (freeOut.empty()) v = budget;

  const double inside = v - lockedIn, rest = budget - v;
  for (size_t j : freeIn)
    m_weights[j] = freeInSum > 0 ? m_weights[j] * (inside / freeInSum) : inside / double(freeIn.size());
  for (size_t j : freeOut)
    m_weights[j] = freeOutSum > 0 ? m_weights[j] * (rest / freeOutSum) : rest / double(freeOut.size());

  // Rounding leaves the sum a few ulps off 1; give the residue to the largest free weight so
  // sum h = 1 holds to the last bit the hardware allows and nothing goes negative.
  double total = 0;
  for (double w : m_weights) total += w;
  const double residue = 1.0 - total;
  if (residue != 0) {
    size_t target = freeIn.front();
    for (size_t j : freeIn)
      if (m_weights[j] > m_weights[target]) target = j;
    for (size_t j : freeOut)
      if (m_weights[j] > m_weights[target]) target = j;
    m_weights[target] = std::max(0.0, m_weights[target] + residue);
  }
  return groupWeight(members);
}

void SimplexWeights::setWeights(const std::vector<double>& h) {
  std::vector<double> normalized = normalize_domain_weights(h, m_weights.size());
  double sum = 0;
  for (double w : h) sum += w;
  m_weights = std::abs(sum - 1.0) <= 1e-12 ? h : normalized;
}

void SimplexWeights::setUniform() { m_weights = uniform_domain_weights(m_weights.size()); }

void SimplexWeights::setOneHot(size_t index) {
  m_weights = one_hot_domain_weights(m_weights.size(), index);
}

}  // namespace souplab
