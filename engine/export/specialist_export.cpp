#include "engine/export/specialist_export.h"


#include <cerrno>
#include <cstring>
#include <filesystem>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/core/staged_folder.h"
#include "engine/export/model_card.h"
#include "engine/export/onnx_writer.h"

namespace souplab {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void check_layout(const ModelConfig& c, const ParamLayout& layout) {
  const ParamLayout expected = gpt_param_layout(c);
  bool same = expected.total == layout.total && expected.entries.size() == layout.entries.size();
  for (size_t i = 0; same && i < expected.entries.size(); ++i)
    same = expected.entries[i].name == layout.entries[i].name &&
           expected.entries[i].shape == layout.entries[i].shape &&
           expected.entries[i].offset == layout.entries[i].offset;
  if (!same) throw Error("export: the parameter layout does not belong to the model config");
}

// Writes the files into `dir` (a fresh temporary folder).
std::vector<std::string> write_files(const fs::path& dir, const ModelConfig& c, const ParamLayout& layout,
                                     const float* theta, const SpecialistCard& card, ExportFormat formats,
                                     const ExportProgress& progress) {
  const bool st = formats != ExportFormat::kOnnx, onnx = formats != ExportFormat::kSafetensors;
  std::vector<std::string> files;
  auto done = [&](const std::string& name) {
    files.push_back(name);
    if (progress) progress(name);
  };
  const SafetensorsMetadata meta = specialist_metadata(c, card);
  if (st) {
    std::vector<TensorView> views;
    for (const auto& e : layout.entries) views.push_back({e.name, DType::kF32, e.shape, theta + e.offset});
    write_safetensors((dir / "model.safetensors").string(), views, meta);
    done("model.safetensors");
  }
  write_file_atomically((dir / "config.json").string(), gpt2_config_json(c, card));
  done("config.json");
  if (onnx) {
    write_gpt_onnx((dir / "model.onnx").string(), c, layout, theta, meta);
    done("model.onnx");
  }
  std::vector<std::string> listed = files;
  listed.push_back("README.md");
  write_file_atomically((dir / "README.md").string(), model_card_markdown(c, card, layout.total, listed));
  done("README.md");
  return files;
}

}  // namespace

const char* export_format_name(ExportFormat f) {
  switch (f) {
    case ExportFormat::kSafetensors: return "safetensors";
    case ExportFormat::kOnnx: return "onnx";
    case ExportFormat::kAll: return "all";
  }
  return "all";
}

bool parse_export_format(const std::string& name, ExportFormat* out) {
  for (ExportFormat f : {ExportFormat::kSafetensors, ExportFormat::kOnnx, ExportFormat::kAll})
    if (name == export_format_name(f)) {
      *out = f;
      return true;
    }
  return false;
}

ExportResult export_specialist(const ModelConfig& config, const ParamLayout& layout, const float* theta,
                               const SpecialistCard& card, const std::string& out_dir, ExportFormat formats,
                               bool overwrite, const ExportProgress& progress) {
  // Everything that can be checked before touching the disk is checked first.
  if (out_dir.empty()) throw Error("export: no output folder given");
  if (theta == nullptr) throw Error("export: no parameters (theta is null)");
  check_layout(config, layout);
  validate(card);

  StagedFolder staged(out_dir, overwrite);
  ExportResult result;
  result.dir = staged.target();
  result.n_params = layout.total;
  result.files = write_files(staged.path(), config, layout, theta, card, formats, progress);
  staged.commit();
  return result;
}

LoadedSpecialist load_specialist_safetensors(const std::string& dir_or_file) {
  std::error_code ec;
  const fs::path in(dir_or_file);
  const bool is_dir = fs::is_directory(in, ec);
  const fs::path file = is_dir ? in / "model.safetensors" : in;
  const fs::path config_path = (is_dir ? in : file.parent_path()) / "config.json";
  LoadedSpecialist out;
  out.source = file.string();
  const SafetensorsFile st = read_safetensors(out.source);
  out.metadata = st.metadata();
  out.verified = st.integrity() == Integrity::kVerified;

  if (fs::exists(config_path, ec)) {
    out.config = parse_gpt2_config_json(read_file(config_path.string()), config_path.string());
  } else {
    // No config.json: sizes from the shapes; n_head is invisible in them, so the metadata says it.
    const auto& wte = st.at("wte.weight");
    const auto& wpe = st.at("wpe.weight");
    if (wte.shape.size() != 2 || wpe.shape.size() != 2)
      throw file_error(out.source, "wte.weight and wpe.weight must be matrices");
    auto it = out.metadata.find("n_head");
    if (it == out.metadata.end())
      throw file_error(out.source, "no config.json beside it and no n_head in its metadata: cannot tell the head count");
    int n_layer = 0;
    while (st.find("h." + std::to_string(n_layer) + ".ln_1.weight")) ++n_layer;
    out.config.vocab_size = int(wte.shape[0]);
    out.config.n_embd = int(wte.shape[1]);
    out.config.block_size = int(wpe.shape[0]);
    out.config.n_layer = n_layer;
    try {
      out.config.n_head = std::stoi(it->second);
      validate(out.config);
    } catch (const std::exception& e) {
      throw file_error(out.source, std::string("inconsistent model sizes: ") + e.what());
    }
  }

  const ParamLayout layout = gpt_param_layout(out.config);
  out.theta.assign(size_t(layout.total), 0.0f);
  for (const auto& e : layout.entries) {
    const SafetensorsEntry* t = st.find(e.name);
    if (!t) throw file_error(out.source, "missing tensor \"" + e.name + "\" (expected shape " + shape_text(e.shape) + ")");
    if (t->dtype != DType::kF32)
      throw file_error(out.source, "tensor \"" + e.name + "\" is " + dtype_name(t->dtype) + ", expected F32");
    if (t->shape != e.shape)
      throw file_error(out.source, "tensor \"" + e.name + "\" has shape " + shape_text(t->shape) + ", the config needs " +
                                       shape_text(e.shape));
    std::memcpy(out.theta.data() + e.offset, st.data(*t), size_t(e.numel) * sizeof(float));
  }
  if (st.tensors().size() != layout.entries.size()) {
    for (const auto& t : st.tensors()) {
      bool known = false;
      for (const auto& e : layout.entries) known = known || e.name == t.name;
      if (!known) throw file_error(out.source, "unexpected tensor \"" + t.name + "\" for this model config");
    }
  }
  return out;
}

}  // namespace souplab
