#pragma once
// The step's "after backward": what makes a rank's gradients the job's and how far to clip
// them. One strategy per case, chosen once by the trainer, so that its step reads forward /
// backward / sync / update (docs/DESIGN.md §2.6 and §6.1):
//  - none (local):   one process; a fused soup step completes its own gradients;
//  - all-reduce:     every rank holds the whole model (plain autograd): the ranks' gradients and
//                    train losses summed in one collective;
//  - fused overlap:  every rank holds the whole soup (fused step): its big dL/dtheta rows travel
//                    while alpha's gradient is formed, S's gradient is formed from them;
//  - sharded:        each rank holds a column shard of the bank; sharded_training_loss summed
//                    the gradients already, so only the train loss is summed, and the clip norm
//                    is the shards' norms summed.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "engine/nn/adamw.h"            // FactoredGrad
#include "engine/nn/trainable_model.h"  // TrainingLoss

namespace souplab {

class Collective;
class SoupBank;

// How this rank's rows sit among the step's h-groups.
struct StepGroups {
  int groups = 1;           // h-groups in the job's batch
  int first_group = 0;      // the first group this rank's rows fall in
  int ranks_per_group = 1;  // ranks that share one group's rows (> 1 when groups < ranks)
};

struct SyncedGradients {
  FactoredGrad factored;    // parameter loss.fused->factored_index's gradient, when the step is fused
  double clip_scale = 1.0;  // AdamW::step's grad_scale: the global norm brought down to grad_clip
};

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // After loss->loss.backward(): every parameter's .grad() (and `factored`) becomes the job's,
  // loss->lm the job's mean train loss.
  virtual SyncedGradients finish(TrainingLoss* loss, const StepGroups& groups, double grad_clip) = 0;
};

// `params` is the trainer's parameter list (kept by reference: it outlives the strategy);
// `coll` null for one process; `shard` non-null when the bank is sharded over the ranks;
// `fused`: the model's training_loss returns a FusedGradient (TrainableModel::fused_gradient).
std::unique_ptr<GradientSync> make_gradient_sync(const std::vector<torch::Tensor>& params, Collective* coll,
                                                 const SoupBank* shard, bool fused);

}  // namespace souplab
