#include "engine/export/specialist_export.h"

#include <cerrno>
#include <filesystem>
#include <optional>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/core/staged_folder.h"
#include "engine/export/byte_tokenizer.h"
#include "engine/export/gguf_writer.h"
#include "engine/export/model_card.h"
#include "engine/export/onnx_writer.h"

namespace souplab {

namespace fs = std::filesystem;

namespace {

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
  const bool all = formats == ExportFormat::kAll;
  const bool st = all || formats == ExportFormat::kSafetensors, onnx = all || formats == ExportFormat::kOnnx;
  std::optional<GgufType> gguf;
  if (all || formats == ExportFormat::kGgufF16) gguf = GgufType::kF16;
  if (formats == ExportFormat::kGgufF32) gguf = GgufType::kF32;
  if (formats == ExportFormat::kGgufQ8_0) gguf = GgufType::kQ8_0;
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
  if (gguf) {
    const std::string name = std::string("model-") + gguf_type_name(*gguf) + ".gguf";
    write_gpt_gguf((dir / name).string(), c, layout, theta, *gguf, card.run_name, meta);
    done(name);
  }
  // The tokenizer and generation defaults go with every format: ONNX runtimes' generation
  // tools (onnxruntime-genai, optimum) read the same files.
  write_file_atomically((dir / "tokenizer.json").string(), tokenizer_json());
  done("tokenizer.json");
  write_file_atomically((dir / "tokenizer_config.json").string(), tokenizer_config_json(c));
  done("tokenizer_config.json");
  write_file_atomically((dir / "generation_config.json").string(), generation_config_json());
  done("generation_config.json");
  std::vector<std::string> listed = files;
  listed.push_back("README.md");
  write_file_atomically((dir / "README.md").string(), model_card_markdown(c, card, layout.total, listed));
  done("README.md");
  return files;
}

}  // namespace

int export_file_count(ExportFormat f) {
  // config.json, the two tokenizer files, generation_config.json and README.md with every
  // format, plus the model files of the format (write_files): three for kAll, one otherwise.
  return 5 + (f == ExportFormat::kAll ? 3 : 1);
}

const char* export_format_name(ExportFormat f) {
  switch (f) {
    case ExportFormat::kSafetensors: return "safetensors";
    case ExportFormat::kOnnx: return "onnx";
    case ExportFormat::kGgufF32: return "gguf-f32";
    case ExportFormat::kGgufF16: return "gguf-f16";
    case ExportFormat::kGgufQ8_0: return "gguf-q8_0";
    case ExportFormat::kAll: return "all";
  }
  return "all";
}

std::vector<ExportFormat> export_formats() {
  return {ExportFormat::kAll, ExportFormat::kSafetensors, ExportFormat::kOnnx,
          ExportFormat::kGgufF16, ExportFormat::kGgufQ8_0, ExportFormat::kGgufF32};
}

bool parse_export_format(const std::string& name, ExportFormat* out) {
  if (name == "gguf") {
    *out = ExportFormat::kGgufF16;
    return true;
  }
  for (ExportFormat f : export_formats())
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


}  // namespace souplab
