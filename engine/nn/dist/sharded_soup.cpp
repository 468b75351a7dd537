#include "engine/nn/dist/sharded_soup.h"

#include <cmath>

#include "engine/nn/dist/collective.h"

namespace souplab {

ColumnShard column_shard(int64_t P, int rank, int world) {
  const int64_t c = (P + world - 1) / world;
  return {int64_t(rank) * c, c};
}

namespace {

torch::Tensor param(const SoupBank& bank, const char* name) {
  for (const auto& [n, t] : bank.named_parameters())
    if (n == name) return t;
  TORCH_CHECK(false, "the bank has no tensor ", name);
}

}  // namespace

TrainingLoss sharded_training_loss(const SoupBank& shard, Collective& coll,
                                   const std::vector<std::vector<double>>& hs, int first_group,
                                   int local_groups, const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t P = shard.layout().total;
  std::vector<torch::Tensor> rows;
  for (const auto& h : hs) rows.push_back(shard.h_tensor(h));
  auto A = shard.alphas(torch::stack(rows));  // (G, n), the same on every rank
  torch::Tensor theta;
  {
    torch::NoGradGuard no_grad;
    const auto mine = shard.fused_thetas(A);  // (G, c): my columns
    theta = coll.all_gather_columns(mine).narrow(1, 0, P).contiguous();  // (G, P)
  }
  theta.requires_grad_(true);
  TrainingLoss out;
  out.loss = shard.grouped_loss(theta.narrow(0, first_group, local_groups), x, y);
  out.lm = out.loss;
  FusedGradient& fused = out.fused.emplace();
  fused.after_backward = [&shard, &coll, A, theta, P]() {
    torch::NoGradGuard no_grad;
    // dL/dtheta of the job: the groups other ranks ran are zero here until summed.
    const ColumnShard cols = shard.shard();
    auto D = theta.grad();  // (G, P)
    const int64_t padded = cols.length * coll.world_size();
    if (padded > P) D = torch::cat({D, torch::zeros({D.size(0), padded - P}, D.options())}, 1);
    // (Gloo has no reduce-scatter in libtorch 1.13: the sum is taken whole, then cut.)
    coll.all_reduce_sum({D});
    D = D.narrow(1, cols.begin, cols.length).contiguous();  // (G, c): my columns
    // D E^T over my columns is my share of alpha's gradient: summed, it is the same on every rank.
    return shard.fused_backward(A, D, [&coll](torch::Tensor& dA) { coll.all_reduce_sum({dA}); });
  };
  fused.factored_index = 1;  // "E"
  return out;
}

double sharded_grad_norm(const SoupBank& shard, Collective& coll, const FactoredGrad& experts) {
  torch::NoGradGuard no_grad;
  double columns = 0, whole = 0;
  for (const auto& [name, t] : shard.named_parameters()) {
    if (!t.grad().defined()) continue;
    const double sq = t.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    (name == "S" || name == "E" ? columns : whole) += sq;
  }
  if (experts.defined()) columns += experts.squared_norm();
  auto sum = torch::full({1}, columns, torch::TensorOptions().dtype(torch::kFloat64).device(coll.device()));
  coll.all_reduce_sum({sum});
  return std::sqrt(sum.item<double>() + whole);
}

std::vector<torch::Tensor> gather_columns(const std::vector<torch::Tensor>& columns, int64_t P,
                                          Collective& coll) {
  std::vector<torch::Tensor> out;
  for (const auto& t : columns) {
    auto parts = coll.gather_to_rank0(t.detach());
    if (!parts.empty()) out.push_back(torch::cat(parts, -1).narrow(-1, 0, P).contiguous());
  }
  return out;
}

std::unique_ptr<SoupBank> gather_bank(const SoupBank& shard, Collective& coll) {
  const int64_t P = shard.layout().total;
  const auto whole = gather_columns({param(shard, "S"), param(shard, "E")}, P, coll);
  if (whole.empty()) return nullptr;
  auto bank = std::make_unique<SoupBank>(shard.model_config(), shard.bank_config(), shard.n_domains(),
                                         shard.device());
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : bank->named_parameters()) {
    if (name == "S") t.copy_(whole[0]);
    else if (name == "E") t.copy_(whole[1]);
    else t.copy_(param(shard, name.c_str()));
  }
  return bank;
}

}  // namespace souplab
