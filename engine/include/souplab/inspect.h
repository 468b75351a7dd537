#pragma once
// Inside the soup at h (docs/DESIGN.md §8 "Inside the soup"), torch-free: the coefficients
// alpha(h) the coefficient network gives, the formula theta = S + sum_j alpha_j E_j they make, and
// where the specialist differs from the shared parameters S and from the uniform-h specialist,
// per tensor of the GPT-2 layout and per transformer block. Model::inspect computes it.
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"

namespace souplab {

// Relative distances over one tensor (or one block's tensors together): ||a - b|| / ||b||.
struct ParamDistance {
  std::string name;          // a tensor's GPT-2 name ("h.0.attn.c_attn.weight"), or "block 0", "rest"
  int layer = -1;            // its transformer block; -1: embeddings and the final layer norm
  int64_t numel = 0;
  double from_shared = 0;    // ||theta_h - S|| / ||S||
  double from_uniform = 0;   // ||theta_h - theta_u|| / ||theta_u|| (theta_u: the specialist at uniform h)
};

struct SoupInspection {
  DomainWeights h;                    // as resolved against the bank's domains
  std::vector<double> alpha;          // alpha(h), one per expert
  std::vector<double> alpha_uniform;  // alpha at uniform h
  std::vector<ParamDistance> tensors;  // in layout order
  std::vector<ParamDistance> blocks;   // block 0, 1, ..., then "rest" (layer -1)
};

// "theta = S + 0.41 E1 - 0.07 E2 + ..." with `decimals` digits after the point.
std::string soup_formula(const std::vector<double>& alpha, int decimals = 2);

}  // namespace souplab
