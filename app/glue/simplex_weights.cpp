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
  if (!std::isfinite(v)) return m_weights[i];

  std::vector<size_t> free;
  double freeSum = 0;
  for (size_t j = 0; j < m_weights.size(); ++j) {
    if (j == i || m_locked[j]) continue;
    free.push_back(j);
    freeSum += m_weights[j];
  }
  const double budget = maxWeight(i);
  v = std::clamp(v, 0.0, budget);
  // Nobody else can absorb a change: this weight is whatever the locked ones leave.
  if (free.empty()) v = budget;
  m_weights[i] = v;

  const double rest = budget - v;
  for (size_t j : free)
    m_weights[j] = freeSum > 0 ? m_weights[j] * (rest / freeSum) : rest / double(free.size());

  // Rounding leaves the sum a few ulps off 1; give the residue to the largest free weight (or
  // the moved one) so sum h = 1 holds to the last bit the hardware allows and nothing goes
  // negative.
  double total = 0;
  for (double w : m_weights) total += w;
  const double residue = 1.0 - total;
  if (residue != 0) {
    size_t target = i;
    for (size_t j : free)
      if (m_weights[j] > m_weights[target]) target = j;
    m_weights[target] = std::max(0.0, m_weights[target] + residue);
  }
  return m_weights[i];
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
