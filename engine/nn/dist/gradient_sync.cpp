// The four GradientSync strategies (gradient_sync.h).
#include "engine/nn/dist/gradient_sync.h"

#include "engine/nn/dist/collective.h"
#include "engine/nn/dist/sharded_soup.h"

namespace souplab {

namespace {

FactoredGrad complete_fused(TrainingLoss* loss) {
  return loss->fused && loss->fused->after_backward ? loss->fused->after_backward() : FactoredGrad();
}

double clip_scale_of(const std::vector<torch::Tensor>& params, const FactoredGrad& factored, double grad_clip) {
  return grad_clip_scale(params, grad_clip, nullptr, factored.defined() ? factored.squared_norm() : 0);
}

class LocalGradients : public GradientSync {
 public:
  explicit LocalGradients(const std::vector<torch::Tensor>& params) : params_(params) {}
  SyncedGradients finish(TrainingLoss* loss, const StepGroups&, double grad_clip) override {
    SyncedGradients out;
    out.factored = complete_fused(loss);
    out.clip_scale = clip_scale_of(params_, out.factored, grad_clip);
    return out;
  }

 private:
  const std::vector<torch::Tensor>& params_;
};

// `bucket` and the rank's train loss summed in one collective; the loss becomes the job's mean.
void sum_with_loss(Collective& coll, const std::vector<torch::Tensor>& params, TrainingLoss* loss,
                   std::vector<torch::Tensor> bucket) {
  auto lm = loss->lm.detach().reshape({1}).to(params[0].dtype()).clone();
  bucket.push_back(lm);
  coll.all_reduce_sum(bucket);
  loss->lm = lm.reshape({}) / double(coll.world_size());
}

// A rank's rows of a per-group tensor (its h-groups' dL/dtheta or alphas) in their groups'
// places of a (groups, .) buffer of zeros, so that the sum over the ranks is the job's.
torch::Tensor in_group_places(const torch::Tensor& local, int groups, int first_group) {
  auto out = torch::zeros({groups, local.size(1)}, local.options());
  out.narrow(0, first_group, local.size(0)).copy_(local);
  return out;
}

// Every rank holds the whole model and trained plain autograd: every gradient and the loss
// summed in one collective.
class AllReduceGradients : public GradientSync {
 public:
  AllReduceGradients(const std::vector<torch::Tensor>& params, Collective& coll) : params_(params), coll_(coll) {}
  SyncedGradients finish(TrainingLoss* loss, const StepGroups&, double grad_clip) override {
    TORCH_CHECK(!loss->fused, "gradient sync: a fused step's loss reached the plain all-reduce");
    std::vector<torch::Tensor> bucket;
    for (const auto& p : params_)
      if (p.grad().defined()) bucket.push_back(p.mutable_grad());
    sum_with_loss(coll_, params_, loss, std::move(bucket));
    SyncedGradients out;
    out.clip_scale = clip_scale_of(params_, out.factored, grad_clip);
    return out;
  }

 private:
  const std::vector<torch::Tensor>& params_;
  Collective& coll_;
};

// Every rank holds the whole soup and ran its fused step, overlapped: the big sum (each h-group's
// dL/dtheta rows, G x P floats, in their groups' places) travels while this rank forms alpha's
// gradient and the coefficient network's from its own rows (after_backward: a read of E); then
// one small sum (the network's gradients, the alphas, the loss). S's gradient is the summed
// rows' sum, formed here rather than summed as well: G P floats per step instead of (G + 1) P.
class FusedOverlapGradients : public GradientSync {
 public:
  FusedOverlapGradients(const std::vector<torch::Tensor>& params, Collective& coll) : params_(params), coll_(coll) {}

  SyncedGradients finish(TrainingLoss* loss, const StepGroups& g, double grad_clip) override {
    TORCH_CHECK(loss->fused && loss->fused->dtheta.defined(), "gradient sync: the fused step left no dL/dtheta");
    torch::NoGradGuard no_grad;
    const FusedGradient& fused = *loss->fused;
    auto D = in_group_places(fused.dtheta.grad(), g.groups, g.first_group);
    auto pending = coll_.all_reduce_sum_async({D});
    FactoredGrad mine = fused.after_backward();  // while D travels
    pending.wait();
    // A group split over `ranks_per_group` ranks gets its A row that many times: divided back.
    auto A = in_group_places(mine.A, g.groups, g.first_group);
    std::vector<torch::Tensor> bucket;
    for (size_t i = 0; i < params_.size(); ++i)
      if (i != fused.dtheta_sum_index && i != fused.factored_index && params_[i].grad().defined())
        bucket.push_back(params_[i].mutable_grad());
    bucket.push_back(A);
    sum_with_loss(coll_, params_, loss, std::move(bucket));
    params_[fused.dtheta_sum_index].mutable_grad() = D.sum(0);
    SyncedGradients out;
    out.factored = FactoredGrad{g.ranks_per_group > 1 ? A / double(g.ranks_per_group) : A, D};
    out.clip_scale = clip_scale_of(params_, out.factored, grad_clip);
    return out;
  }

 private:
  const std::vector<torch::Tensor>& params_;
  Collective& coll_;
};

class ShardedGradients : public GradientSync {
 public:
  ShardedGradients(const std::vector<torch::Tensor>& params, Collective& coll, const SoupBank& shard)
      : params_(params), coll_(coll), shard_(shard) {}
  SyncedGradients finish(TrainingLoss* loss, const StepGroups&, double grad_clip) override {
    SyncedGradients out;
    out.factored = complete_fused(loss);  // sums the shards' columns inside (sharded_soup.cpp)
    sum_with_loss(coll_, params_, loss, {});
    out.clip_scale = clip_factor(sharded_grad_norm(shard_, coll_, out.factored), grad_clip);
    return out;
  }

 private:
  const std::vector<torch::Tensor>& params_;
  Collective& coll_;
  const SoupBank& shard_;
};

}  // namespace

std::unique_ptr<GradientSync> make_gradient_sync(const std::vector<torch::Tensor>& params, Collective* coll,
                                                 const SoupBank* shard, bool fused) {
  if (!coll) return std::make_unique<LocalGradients>(params);
  if (shard) return std::make_unique<ShardedGradients>(params, *coll, *shard);
  if (fused) return std::make_unique<FusedOverlapGradients>(params, *coll);
  return std::make_unique<AllReduceGradients>(params, *coll);
}

}  // namespace souplab
