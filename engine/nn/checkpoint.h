#pragma once
// Checkpoints: one safetensors file per save (so any safetensors reader can inspect it), written
// atomically. Tensors: the model's named_parameters (soup: "S", "E", "coef.*"; MoE: "theta",
// "moe.<l>.*") and, for training checkpoints, AdamW's
// moments ("adam.m.<name>", "adam.v.<name>"). Metadata: format and version, the run config, the
// domains, step, run id, the sampler's RNG state and everything else resume needs (docs/DESIGN.md §3.1).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/core/checkpoint_meta.h"  // TrainState, format version, metadata checks
#include "engine/core/safetensors.h"
#include "souplab/config.h"
#include "engine/nn/adamw.h"
#include "engine/nn/trainable_model.h"

namespace souplab {

// `optimizer` may be null (a bank-only checkpoint, e.g. for sharing).
void save_checkpoint(const std::string& path, const TrainableModel& bank, const AdamW* optimizer,
                     const TrainState& state);

struct LoadedCheckpoint {
  TrainState state;
  std::unique_ptr<TrainableModel> bank;  // a SoupBank (soup, dense) or a MoeModel (moe)
  bool has_optimizer = false;
  int64_t optimizer_step = 0;
  std::vector<torch::Tensor> exp_avg, exp_avg_sq;  // in bank.named_parameters() order
};

// Loads and checks a checkpoint: format version, config validity, every tensor's presence and
// shape against the config. Errors name the file and the problem.
LoadedCheckpoint load_checkpoint(const std::string& path, const torch::Device& device,
                                 bool with_optimizer);

// A checkpoint file read and its metadata checked, before any model is made: the model loader
// builds the class of the checkpoint's kind itself and then fills it.
struct CheckpointFile {
  SafetensorsFile file;
  CheckpointMetadata meta;
};
CheckpointFile open_checkpoint(SafetensorsFile file);
// Copies the checkpoint's tensors into `model` (made for its config): every named parameter
// must be present with its shape. Errors name the file and the tensor.
void load_parameters(const CheckpointFile& ck, const TrainableModel& model);

// True if `path` looks like a SoupLab checkpoint (by its metadata), without loading tensors.
bool is_checkpoint_file(const std::string& path);

}  // namespace souplab
