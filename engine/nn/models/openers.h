#pragma once
// How Model::load (load_model.cpp) reaches the model classes: it reads just enough of a path to
// tell its kind, then hands what it read to the opener of that kind. One opener per class; the
// classes themselves stay in their own .cpp files.
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "souplab/model.h"
#include "engine/nn/checkpoint.h"

namespace souplab {

// What the loader read of a path.
struct ModelSource {
  std::string path;
  ModelKind kind = ModelKind::kSpecialist;
  std::string device;                        // as asked ("auto", "cpu", "cuda:1"), for inputs
  torch::Device torch_device = torch::kCPU;  // where this model's tensors go
  torch::ScalarType precision = torch::kFloat32;  // what instantiate() runs in, where the kind can
  std::optional<CheckpointFile> checkpoint;  // soup, dense, moe
  nlohmann::json manifest;                   // post-hoc folders (manifest.json)
};

std::shared_ptr<const Model> open_bank_model(ModelSource source);          // soup, dense
std::shared_ptr<const Model> open_moe_model(ModelSource source);           // moe
std::shared_ptr<const Model> open_exported_model(ModelSource source);      // specialist, merge
std::shared_ptr<const Model> open_lora_experts_model(ModelSource source);  // lora_experts
std::shared_ptr<const Model> open_full_experts_model(ModelSource source);  // full_experts
std::shared_ptr<const Model> open_phatgoose_model(ModelSource source);     // phatgoose
std::shared_ptr<const Model> open_wemoe_model(ModelSource source);         // wemoe

// The facts every checkpoint-based model shares (run, step, domains, config, data).
ModelFacts checkpoint_facts(const ModelSource& source);

}  // namespace souplab
