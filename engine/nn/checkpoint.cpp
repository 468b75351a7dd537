#include "engine/nn/checkpoint.h"

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "engine/core/safetensors.h"
#include "engine/nn/make_model.h"

namespace souplab {
namespace {

using nlohmann::json;
constexpr const char* kFormatName = kCheckpointFormatName;

torch::Tensor to_host(const torch::Tensor& t) { return t.detach().to(torch::kCPU).contiguous(); }

// Copies tensor `name` of the file into `dst` (same shape required).
void load_into(const SafetensorsFile& f, const std::string& name, torch::Tensor dst) {
  const SafetensorsEntry& e = f.at(name);
  if (e.dtype != DType::kF32) throw file_error(f.source(), "tensor \"" + name + "\" is not F32");
  if (e.shape != dst.sizes().vec()) {
    std::string want, got;
    for (auto d : dst.sizes()) want += std::to_string(d) + " ";
    for (auto d : e.shape) got += std::to_string(d) + " ";
    throw file_error(f.source(), "tensor \"" + name + "\" has shape [ " + got +
                                     "] but the checkpoint's config needs [ " + want + "]");
  }
  auto src = torch::from_blob(const_cast<uint8_t*>(f.data(e)), dst.sizes(), torch::kFloat32);
  torch::NoGradGuard no_grad;
  dst.copy_(src);
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainableModel& bank, const AdamW* optimizer,
                     const TrainState& s) {
  std::vector<torch::Tensor> keep;  // host copies stay alive until written
  std::vector<TensorView> views;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    keep.push_back(to_host(t));
    views.push_back({name, DType::kF32, keep.back().sizes().vec(), keep.back().data_ptr()});
  };
  const auto params = bank.named_parameters();
  for (const auto& [name, t] : params) add(name, t);
  if (optimizer) {
    auto* opt = const_cast<AdamW*>(optimizer);
    for (size_t i = 0; i < params.size(); ++i) {
      add("adam.m." + params[i].first, opt->exp_avg()[i]);
      add("adam.v." + params[i].first, opt->exp_avg_sq()[i]);
    }
  }
  SafetensorsMetadata meta;
  meta["format"] = kFormatName;
  meta["format_version"] = std::to_string(kCheckpointFormatVersion);
  meta["config"] = to_json(s.config);
  meta["n_domains"] = std::to_string(bank.n_domains());
  meta["domains"] = json(s.domains).dump();
  meta["step"] = std::to_string(s.step);
  meta["run_id"] = std::to_string(s.run_id);
  meta["run_name"] = s.run_name;
  meta["sampler_state"] = s.sampler_state;
  meta["elapsed_s"] = json(s.elapsed_s).dump();
  meta["corpus_hash"] = s.corpus_hash;
  meta["run_log_path"] = s.run_log_path;
  meta["has_optimizer"] = optimizer ? "1" : "0";
  meta["optimizer_step"] = std::to_string(optimizer ? optimizer->step_count() : 0);
  write_safetensors(path, views, meta);
}

CheckpointFile open_checkpoint(SafetensorsFile file) {
  CheckpointMetadata meta = parse_checkpoint_metadata(file);  // checks before allocating
  return {std::move(file), std::move(meta)};
}

void load_parameters(const CheckpointFile& ck, const TrainableModel& model) {
  for (const auto& [name, t] : model.named_parameters()) load_into(ck.file, name, t);
}

LoadedCheckpoint load_checkpoint(const std::string& path, const torch::Device& device,
                                 bool with_optimizer) {
  const CheckpointFile ck = open_checkpoint(read_safetensors(path));
  const SafetensorsFile& f = ck.file;
  const CheckpointMetadata& meta = ck.meta;
  LoadedCheckpoint out;
  TrainState& s = out.state;
  s = meta.state;
  const int64_t k = meta.n_domains;

  out.bank = make_model(s.config, int(k), device);
  load_parameters(ck, *out.bank);
  const auto params = out.bank->named_parameters();

  out.has_optimizer = meta.has_optimizer;
  out.optimizer_step = meta.optimizer_step;
  if (with_optimizer) {
    if (!out.has_optimizer) throw file_error(path, "holds no optimiser state, so it cannot be resumed");
    for (const auto& [name, t] : params) {
      auto m = torch::zeros_like(t).detach(), v = torch::zeros_like(t).detach();
      load_into(f, "adam.m." + name, m);
      load_into(f, "adam.v." + name, v);
      out.exp_avg.push_back(m);
      out.exp_avg_sq.push_back(v);
    }
  }
  return out;
}

bool is_checkpoint_file(const std::string& path) {
  try {
    const SafetensorsFile f = read_safetensors(path);
    auto it = f.metadata().find("format");
    return it != f.metadata().end() && it->second == kFormatName;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace souplab
