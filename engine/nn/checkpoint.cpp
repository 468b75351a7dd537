#include "engine/nn/checkpoint.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/core/safetensors.h"

namespace souplab {
namespace {

using nlohmann::json;
constexpr const char* kFormatName = "souplab-checkpoint";

torch::Tensor to_host(const torch::Tensor& t) { return t.detach().to(torch::kCPU).contiguous(); }

std::string meta_at(const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata().find(key);
  if (it == f.metadata().end())
    throw file_error(f.source(), "not a SoupLab checkpoint (metadata \"" + key + "\" missing)");
  return it->second;
}

int64_t meta_int(const SafetensorsFile& f, const std::string& key) {
  const std::string v = meta_at(f, key);
  try {
    size_t used = 0;
    long long x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument("trailing");
    return x;
  } catch (const std::exception&) {
    throw file_error(f.source(), "metadata \"" + key + "\" is not an integer: \"" + v + "\"");
  }
}

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

void save_checkpoint(const std::string& path, const SoupBank& bank, const AdamW* optimizer,
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

LoadedCheckpoint load_checkpoint(const std::string& path, const torch::Device& device,
                                 bool with_optimizer) {
  const SafetensorsFile f = read_safetensors(path);
  if (meta_at(f, "format") != kFormatName)
    throw file_error(path, "not a SoupLab checkpoint (format \"" + meta_at(f, "format") + "\")");
  const int64_t version = meta_int(f, "format_version");
  if (version > kCheckpointFormatVersion)
    throw file_error(path, "written by a newer SoupLab (checkpoint format " +
                               std::to_string(version) + "; this build reads up to " +
                               std::to_string(kCheckpointFormatVersion) + ")");
  if (version < 1) throw file_error(path, "bad checkpoint format version " + std::to_string(version));

  LoadedCheckpoint out;
  TrainState& s = out.state;
  try {
    s.config = parse_run_config(meta_at(f, "config"), path + " (config)");
    validate(s.config);
    s.domains = json::parse(meta_at(f, "domains")).get<std::vector<std::string>>();
    s.elapsed_s = json::parse(meta_at(f, "elapsed_s")).get<double>();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw file_error(path, std::string("bad checkpoint metadata: ") + e.what());
  }
  s.step = meta_int(f, "step");
  s.run_id = meta_int(f, "run_id");
  s.run_name = meta_at(f, "run_name");
  s.sampler_state = meta_at(f, "sampler_state");
  s.corpus_hash = meta_at(f, "corpus_hash");
  s.run_log_path = meta_at(f, "run_log_path");
  const int64_t k = meta_int(f, "n_domains");
  if (k != int64_t(s.domains.size()))
    throw file_error(path, "n_domains (" + std::to_string(k) + ") disagrees with the domain list");
  if (s.step < 0) throw file_error(path, "negative step");

  out.bank = std::make_unique<SoupBank>(s.config.model, s.config.bank, int(k), device);
  const auto params = out.bank->named_parameters();
  for (const auto& [name, t] : params) load_into(f, name, t);

  out.has_optimizer = meta_at(f, "has_optimizer") == "1";
  out.optimizer_step = meta_int(f, "optimizer_step");
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
