#pragma once
// Inside the soup at h (docs/DESIGN.md §8 "Inside the soup"), torch-free: the coefficients
// alpha(h) the coefficient network gives, the formula theta = S + sum_j alpha_j E_j they make, and
// where the specialist differs from the shared parameters S and from the uniform-h specialist,
// per tensor of the GPT-2 layout and per transformer block (Model::inspect); and the losses along
// a path between two specialists (loss_path).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/domain_weights.h"

namespace souplab {

class Model;
class Specialist;
class ValidationSet;

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
  // Which experts carry the specialist where: [expert j][block b] = ||alpha_j E_j|| / ||S|| over
  // the block's tensors (blocks as above). Empty for low-rank experts (not a row of theta).
  std::vector<std::vector<double>> expert_blocks;
};

// What plays alpha(h)'s part in a model that is not a soup bank (docs/DESIGN.md §8 "Inside the
// soup"), and alpha itself for a soup: what the model at h is made of, as a table of numbers
// [row][column] over its parts (experts, merged models) and a formula in words and numbers.
//   soup          rows "alpha(h)", "alpha(uniform h)"; columns E1..En
//   moe           "router load": per MoE block, the share of the token-to-expert assignments each
//                 expert takes on the domains' validation windows, mixed by h (the model routes
//                 per token, so h only reweights what each domain's text does to the router)
//   lora_experts, full_experts
//                 "expert chosen": one row, 1 for the expert of h's largest weight
//   merge         "merge weights": one row, the weight of every merged model
//   phatgoose     "routing weight": per block, the mean weight each LoRA expert gets per token
//                 (over the block's linear layers), measured and mixed like a MoE's load
//   wemoe         "merge coefficient": per block, the mean coefficient r_i of each expert's task
//                 vector that the router gives each token, measured and mixed likewise
struct MixingRole {
  std::string role;                       // "alpha(h)", "router load", "expert chosen", ...
  std::string formula;                    // "theta = S + 0.41 E1 - 0.07 E2 ...", ...
  std::string note;                       // what the numbers are, in a sentence
  std::vector<std::string> columns;       // the parts mixed
  std::vector<std::string> rows;          // what each row of values is
  std::vector<std::vector<double>> values;  // [row][column]
};

// The role of h in a merge of `inputs` by `method` with `weights` (and a base for task-vector
// methods): "theta = 0.50 A + 0.50 B", or "theta = base + lambda * ties(...)". Torch-free.
MixingRole merge_mixing_role(const std::string& method, const std::vector<std::string>& inputs,
                             const std::vector<double>& weights, const std::string& base, double lambda);

// One point of a path between two specialists: its per-domain losses on a validation set.
struct PathPoint {
  double t = 0;
  DomainWeights h;                     // (1 - t) h_A + t h_B
  std::vector<double> along_h;         // the specialist at h(t)
  std::vector<double> along_weights;   // the model (1 - t) theta(h_A) + t theta(h_B)
};

// `points` + 1 evenly spaced points from h_A (t = 0) to h_B (t = 1), each evaluated both ways:
// moving h (the soup's own path) and moving straight between the two specialists' weights (a
// linear merge, which is not the same thing). Both ends of both curves are the two specialists.
// Needs a model that instantiates one dense GPT-2 per h (an Error naming the file otherwise).
// max_windows > 0 evaluates each domain on its first max_windows windows only.
std::vector<PathPoint> loss_path(const Model& model, const DomainWeights& a, const DomainWeights& b, int points,
                                 const ValidationSet& windows, int max_windows = 0);

// One point of a landscape: three domains' share of their joint weight, the h it makes, and the
// specialist's loss on the target there.
struct LandscapePoint {
  std::array<double, 3> share{};  // of the three domains' joint weight; sums to 1
  DomainWeights h;
  double loss = 0;
};

// The loss over the 2-simplex of three domains' weights (`corners`, indices into the model's
// domains): their joint weight and every other domain's stay as in `base` (a joint weight of 0
// becomes 1, the others 0), shared among the three on a grid of `resolution` steps per edge,
// (R + 1)(R + 2) / 2 points. The loss at a point is the specialist's on `target`: its domains'
// losses weighted by `mixture` (one weight per domain of `target`), or, with an empty mixture,
// the mean over target's domains (a text's windows are one domain). Domains of weight 0 are not
// evaluated; max_windows > 0 evaluates each domain on its first max_windows windows only.
std::vector<LandscapePoint> loss_landscape(const Model& model, const DomainWeights& base,
                                           const std::array<size_t, 3>& corners, int resolution,
                                           const ValidationSet& target, const std::vector<double>& mixture = {},
                                           int max_windows = 0);

// Every domain's loss on its first `max_windows` windows: a window-capped Specialist::evaluate
// (0: all windows, exactly Specialist::evaluate). loss_path and loss_landscape cap this way.
std::vector<double> first_windows_losses(const Specialist& model, const ValidationSet& windows, int max_windows);

// "theta = S + 0.41 E1 - 0.07 E2 + ..." with `decimals` digits after the point.
std::string soup_formula(const std::vector<double>& alpha, int decimals = 2);

}  // namespace souplab
