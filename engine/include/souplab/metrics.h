#pragma once
// What an evaluation measures, shared by the models that compute it, the trainer that reports
// it and the run log that stores it (so none of them includes another for these types).
#include <cstdint>
#include <string>
#include <vector>

namespace souplab {

// Per-domain validation losses at one step. For soup runs: the bank instantiated at the uniform
// h on every domain, and each domain's one-hot specialist on its own domain. For dense runs:
// the model on every domain (loss_specialist is empty).
struct EvalResult {
  int64_t step = 0;
  std::vector<std::string> domains;
  std::vector<double> loss_uniform;
  std::vector<double> loss_specialist;
};

// The run log's split and metric names, spelled once: the trainer and the models write them,
// the run log's SQL, the training monitor, the run browser and the expert-load view read them.
namespace metric_key {
inline constexpr char kTrain[] = "train";                    // split: training steps
inline constexpr char kVal[] = "val";                        // split: validation
inline constexpr char kLoss[] = "loss";                      // train loss; a dense run's val loss
inline constexpr char kLossUniform[] = "loss_uniform";       // val: the soup at uniform h
inline constexpr char kLossSpecialist[] = "loss_specialist"; // val: a domain's one-hot specialist
inline constexpr char kLearningRate[] = "lr";
inline constexpr char kTokensPerSec[] = "tokens_per_sec";
inline constexpr char kBalanceLoss[] = "balance_loss";       // MoE, train
inline constexpr char kZLoss[] = "z_loss";                   // MoE, train
inline constexpr char kDroppedFrac[] = "dropped_frac";       // MoE, train
inline constexpr char kExpertLoadPrefix[] = "expert_load/L"; // MoE, val: expert_load/L<layer>/E<expert>
}  // namespace metric_key

// One row of the run log's metrics table.
struct Metric {
  int64_t step = 0;
  std::string split;     // "train" / "val"
  std::string domain;    // empty for none (e.g. an aggregate)
  std::string name;      // "loss", "loss_uniform", "lr", ...
  double value = 0;      // NaN is kept (stored as NULL, read back as NaN)
  double wall_time = 0;  // seconds since epoch; <= 0 means "now" when logged
};

}  // namespace souplab
