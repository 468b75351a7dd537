#pragma once
// A soup bank split along the parameter dimension over the ranks of a job (--shard-bank,
// ZeRO-3 style; docs/DESIGN.md §6.2). Rank r holds columns [r c, (r + 1) c) of S and of every E_j
// (c = ceil(P / W), the last rank's padded) with their AdamW moments, and the whole coefficient
// MLP. A step: every rank forms its columns of theta(h_g) for all the step's h, an all-gather
// gives each rank the whole specialists for its rows, the backward's dL/dtheta is summed over
// the ranks and each keeps its columns; S's gradient is their sum over the groups, E's stays
// factored (alpha^T D, the fused step), and alpha's gradient D E^T is a sum over the columns:
// an all-reduce of G x n numbers. Every rank then updates only its columns. The bank and its
// moments take ~1/W of the replicated job's memory per rank; the specialists of one step
// (G x P) are whole on every rank for the forward, as they must be.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "engine/nn/adamw.h"
#include "engine/nn/soup.h"
#include "engine/nn/trainable_model.h"

namespace souplab {

class Collective;

// Rank `rank`'s columns of a P-column bank over `world` ranks.
ColumnShard column_shard(int64_t P, int rank, int world);

// The step's loss on this rank's rows x, y, which belong to the h-groups
// [first_group, first_group + local_groups) of hs (all the step's h: every rank forms its
// columns of every group's theta). after_backward completes S's and the coefficient MLP's
// gradients (summed over the ranks) and returns E's, factored, for this rank's columns.
TrainingLoss sharded_training_loss(const SoupBank& shard, Collective& coll,
                                   const std::vector<std::vector<double>>& hs, int first_group,
                                   int local_groups, const torch::Tensor& x, const torch::Tensor& y);

// The job's gradient norm (for clipping): S's and E's columns summed over the ranks, the
// coefficient MLP (the same on every rank) counted once. Every rank must call it.
double sharded_grad_norm(const SoupBank& shard, Collective& coll, const FactoredGrad& experts);

// Whole tensors from every rank's columns (each (..., c)), on rank 0; empty on the others.
// Every rank must call it, with its tensors in the same order.
std::vector<torch::Tensor> gather_columns(const std::vector<torch::Tensor>& columns, int64_t P,
                                          Collective& coll);

// The whole bank on rank 0, from the shards (null on the other ranks); every rank must call it.
std::unique_ptr<SoupBank> gather_bank(const SoupBank& shard, Collective& coll);

}  // namespace souplab
