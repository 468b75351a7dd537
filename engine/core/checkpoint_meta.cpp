#include "engine/core/checkpoint_meta.h"

#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/param_layout.h"

namespace souplab {
namespace {

using nlohmann::json;

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

}  // namespace

CheckpointMetadata parse_checkpoint_metadata(const SafetensorsFile& f) {
  const std::string& path = f.source();
  if (meta_at(f, "format") != kCheckpointFormatName)
    throw file_error(path, "not a SoupLab checkpoint (format \"" + meta_at(f, "format") + "\")");
  const int64_t version = meta_int(f, "format_version");
  if (version > kCheckpointFormatVersion)
    throw file_error(path, "written by a newer SoupLab (checkpoint format " +
                               std::to_string(version) + "; this build reads up to " +
                               std::to_string(kCheckpointFormatVersion) + ")");
  if (version < 1) throw file_error(path, "bad checkpoint format version " + std::to_string(version));

  CheckpointMetadata out;
  TrainState& s = out.state;
  try {
    const std::string config_text = meta_at(f, "config");
    s.config = parse_run_config(config_text, path + " (config)");
    // Checkpoints written before the soup had per-group learning rates trained every tensor at
    // train.lr: keep that on resume, so their runs continue as they started.
    const json bank = json::parse(config_text).value("bank", json::object());
    if (!bank.contains("expert_lr_scale")) s.config.bank.expert_lr_scale = 1.0;
    if (!bank.contains("coef_lr_scale")) s.config.bank.coef_lr_scale = 1.0;
    // ... and before several h per step existed, one h per step.
    const json train = json::parse(config_text).value("train", json::object());
    if (!train.contains("h_per_step")) s.config.train.h_per_step = 1;
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
  if (k < 1 || k > 65536) throw file_error(path, "bad n_domains " + std::to_string(k));
  if (s.step < 0) throw file_error(path, "negative step");
  out.n_domains = int(k);
  out.has_optimizer = meta_at(f, "has_optimizer") == "1";
  out.optimizer_step = meta_int(f, "optimizer_step");
  if (out.optimizer_step < 0) throw file_error(path, "negative optimizer_step");

  // The bank the config describes must fit in the tensors the file holds (checked exactly,
  // tensor by tensor, when loading; this bounds the allocation before that).
  const ParamCounts pc = param_counts(s.config, out.n_domains);
  const int64_t need = pc.total * (out.has_optimizer ? 3 : 1);
  int64_t have = 0;
  for (const SafetensorsEntry& e : f.tensors())
    if (e.dtype == DType::kF32) have += e.numel;
  if (have < need)
    throw file_error(path, "its tensors hold " + std::to_string(have) + " floats but its config needs " +
                               std::to_string(need) + " (truncated, or a config that does not match)");
  return out;
}

}  // namespace souplab
