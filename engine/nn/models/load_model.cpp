// Model::load: tells a path's kind and opens it with the class of that kind.
#include <filesystem>

#include "souplab/device.h"
#include "souplab/error.h"
#include "souplab/atomic_file.h"
#include "engine/core/safetensors.h"
#include "engine/nn/instantiate_cast.h"
#include "engine/nn/models/openers.h"

namespace souplab {
namespace {

namespace fs = std::filesystem;

// A post-hoc folder's kind is its manifest's "method".
ModelKind manifest_kind(const std::string& dir, const nlohmann::json& manifest) {
  const std::string where = dir + "/manifest.json";
  if (!manifest.is_object() || !manifest.contains("method") || !manifest["method"].is_string())
    throw file_error(where, "missing or malformed \"method\"");
  const std::string method = manifest["method"].get<std::string>();
  const auto kind = parse_model_kind(method);
  if (!kind) throw file_error(where, "unknown method \"" + method + "\"");
  return *kind;
}

// Reads what tells the kind: a post-hoc folder's manifest, a checkpoint's metadata; anything
// else is an exported specialist (whose loader names the file if it is not one either).
ModelSource identify(const std::string& path) {
  ModelSource s;
  s.path = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw file_error(path, "no such file");
  const std::string manifest = (fs::path(path) / "manifest.json").string();
  if (fs::is_regular_file(manifest, ec)) {
    try {
      s.manifest = nlohmann::json::parse(read_file(manifest));
    } catch (const nlohmann::json::exception& e) {
      throw file_error(manifest, std::string("not valid JSON: ") + e.what());
    }
    s.kind = manifest_kind(path, s.manifest);
    return s;
  }
  if (fs::is_directory(path, ec)) return s;  // an export folder
  std::optional<SafetensorsFile> file;
  try {
    file = read_safetensors(path);
  } catch (const Error&) {
    return s;  // not even safetensors: the specialist loader says why
  }
  const auto format = file->metadata().find("format");
  if (format == file->metadata().end() || format->second != kCheckpointFormatName) return s;
  s.checkpoint = open_checkpoint(std::move(*file));
  const RunConfig& c = s.checkpoint->meta.state.config;
  s.kind = c.train.kind;
  if (s.kind == ModelKind::kSoup && c.bank.n_experts == 0) s.kind = ModelKind::kDense;
  return s;
}

}  // namespace

std::shared_ptr<const Model> Model::load(const std::string& path, const std::string& device,
                                         const std::string& precision) {
  const auto dtype = parse_inference_precision(precision);
  if (!dtype) throw Error("precision must be fp32, bf16 or fp16, got \"" + precision + "\"");
  const DeviceChoice dev = select_device(device);
  if (*dtype == torch::kFloat16 && !torch::Device(dev.device).is_cuda())
    throw Error("precision fp16 runs on CUDA devices only (libtorch's CPU kernels lack float16 layer norm); "
                "use bf16 or fp32 on " + dev.device);
  set_torch_threads(0);  // per thread under OpenMP: the thread that loads is the one that runs
  ModelSource source = identify(path);
  source.device = device;
  source.torch_device = torch::Device(dev.device);
  source.precision = *dtype;
  switch (source.kind) {
    case ModelKind::kSoup:
    case ModelKind::kDense: return open_bank_model(std::move(source));
    case ModelKind::kMoe: return open_moe_model(std::move(source));
    case ModelKind::kSpecialist: return open_exported_model(std::move(source));
    case ModelKind::kMerged:  // written to disk, a merge is an exported specialist
      throw file_error(path, "a merge is opened from the folder it was exported to");
    case ModelKind::kLoraExperts: return open_lora_experts_model(std::move(source));
    case ModelKind::kFullExperts: return open_full_experts_model(std::move(source));
    case ModelKind::kPhatgoose: return open_phatgoose_model(std::move(source));
    case ModelKind::kWemoe: return open_wemoe_model(std::move(source));
  }
  throw file_error(path, "unknown model kind");
}

}  // namespace souplab
