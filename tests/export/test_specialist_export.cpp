// The export folder: its files, config.json, the tokenizer files, the model card, refusing to
// clobber, leaving nothing behind on failure, overwriting atomically, and the bit-exact load
// round trip; Hugging Face transformers loading the folder (AutoTokenizer, AutoModelForCausalLM,
// pipeline) and generating what souplab-cli generates; and folders saved by transformers
// (float32, float16, bfloat16, older layouts) loading in SoupLab with transformers' logits.
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "souplab/run_log.h"
#include "engine/export/logged_export.h"
#include "souplab/error.h"
#include "souplab/specialist.h"
#include "engine/export/byte_tokenizer.h"
#include "engine/export/model_card.h"
#include "engine/export/specialist_export.h"
#include "export_test_util.h"
#include "reference_gpt.h"

using namespace souplab;
using namespace export_test;
namespace fs = std::filesystem;

namespace {

SpecialistCard make_card() {
  SpecialistCard card;
  card.run_id = "run-42";
  card.run_name = "soup demo";
  card.step = 600;
  card.source_checkpoint = "/data/runs/run-42/ckpt-600.pt";
  card.domain_names = {"code", "prose", "poetry"};
  card.h = {0.625, 0.25, 0.125};
  card.val_losses = {1.2345, 2.5, 3.75};
  return card;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The files every export has, whatever its format, plus the format's own.
std::vector<std::string> export_files(std::vector<std::string> own) {
  own.insert(own.end(), {"README.md", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"});
  std::sort(own.begin(), own.end());
  return own;
}

// The YAML front matter of a model card: the lines between the first two "---".
std::vector<std::string> front_matter(const std::string& card) {
  std::vector<std::string> lines;
  std::istringstream in(card);
  std::string line;
  std::getline(in, line);
  if (line != "---") return lines;
  while (std::getline(in, line) && line != "---") lines.push_back(line);
  return lines;
}
bool has_line(const std::vector<std::string>& lines, const std::string& l) {
  return std::find(lines.begin(), lines.end(), l) != lines.end();
}

// Values exactly representable in IEEE half precision (|x| < 8 in steps of 1/256, normal or
// zero) and their half bits, for files written here in F16.
float quantise_f16(float x) { return std::clamp(std::round(x * 256.0f) / 256.0f, -7.99609375f, 7.99609375f); }
uint16_t exact_half_bits(float x) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const float a = std::fabs(x);
  if (a == 0.0f) return sign;
  if (a < std::ldexp(1.0f, -14)) return uint16_t(sign | uint16_t(a * std::ldexp(1.0f, 24)));  // subnormal
  const int e = std::ilogb(a);
  return uint16_t(sign | uint16_t((e + 15) << 10) | uint16_t((a / std::ldexp(1.0f, e) - 1.0f) * 1024.0f));
}
uint32_t float_bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

// souplab-cli, built with this test (tests/export/export.cmake).
QString cli_path() { return QStringLiteral(SOUPLAB_CLI); }

// souplab-cli generate --temperature 0 (greedy) on the CPU: its stdout, the prompt and the
// continuation and a newline.
ProcessResult cli_greedy(const QString& model, const std::string& prompt, int length) {
  return run_process(cli_path(), {"generate", model, "--temperature", "0", "--length", QString::number(length),
                                  "--prompt", QString::fromStdString(prompt), "--device", "cpu"});
}

}  // namespace

class TestSpecialistExport : public QObject {
  Q_OBJECT

  ModelConfig m_config = tiny_config();
  ParamLayout m_layout = gpt_param_layout(m_config);
  std::vector<float> m_theta = random_theta(m_layout, 77);

 private Q_SLOTS:
  void writes_the_files_and_round_trips() {
    QTemporaryDir tmp;
    const fs::path out = fs::path(tmp.path().toStdString()) / "exports" / "spec";  // parent made too
    std::vector<std::string> progress;
    const ExportResult r = export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.string(),
                                             ExportFormat::kAll, false, [&](const std::string& f) { progress.push_back(f); });
    QCOMPARE(r.n_params, m_layout.total);
    QVERIFY((entries(out) == export_files({"model-f16.gguf", "model.onnx", "model.safetensors"})));
    QVERIFY(progress == r.files);
    QCOMPARE(int(r.files.size()), export_file_count(ExportFormat::kAll));  // what progress bars count on
    QVERIFY((entries(out.parent_path()) == std::vector<std::string>{"spec"}));  // no temp dir left

    const auto cfg = nlohmann::json::parse(read_file((out / "config.json").string()));
    QCOMPARE(cfg["model_type"].get<std::string>(), std::string("gpt2"));
    QVERIFY((cfg["architectures"] == nlohmann::json::array({"GPT2LMHeadModel"})));
    QCOMPARE(cfg["vocab_size"].get<int>(), 256);
    QCOMPARE(cfg["n_positions"].get<int>(), m_config.block_size);
    QCOMPARE(cfg["n_embd"].get<int>(), m_config.n_embd);
    QCOMPARE(cfg["n_layer"].get<int>(), m_config.n_layer);
    QCOMPARE(cfg["n_head"].get<int>(), m_config.n_head);
    QVERIFY(cfg["n_inner"].is_null());
    QCOMPARE(cfg["activation_function"].get<std::string>(), std::string("gelu_new"));
    QCOMPARE(cfg["layer_norm_epsilon"].get<double>(), 1e-5);
    QCOMPARE(cfg["tie_word_embeddings"].get<bool>(), true);
    QVERIFY(cfg["souplab_tokenizer"].get<std::string>().find("byte value") != std::string::npos);
    QCOMPARE(cfg["dtype"].get<std::string>(), std::string("float32"));  // transformers 5
    QCOMPARE(cfg["torch_dtype"].get<std::string>(), std::string("float32"));  // before it
    QVERIFY(cfg["eos_token_id"].is_null() && cfg["bos_token_id"].is_null());

    const std::string card = read_file((out / "README.md").string());
    const std::vector<std::string> wanted = {"code", "prose", "poetry", "0.6250", "0.2500", "0.1250", "run-42", "soup demo",
                                             "600", "1.2345", "from_pretrained", "onnxruntime", std::to_string(m_layout.total)};
    for (const auto& s : wanted) QVERIFY2(card.find(s) != std::string::npos, s.c_str());
    // The Hub's front matter: licence (the weights are the user's: "other" unless given), task,
    // library; no base_model for a specialist instantiated from a bank.
    const auto yaml = front_matter(card);
    QVERIFY2(has_line(yaml, "license: \"other\""), card.substr(0, 300).c_str());
    QVERIFY(has_line(yaml, "pipeline_tag: text-generation"));
    QVERIFY(has_line(yaml, "library_name: transformers"));
    for (const auto& l : yaml) QVERIFY2(l.rfind("base_model", 0) != 0, l.c_str());
    QVERIFY(card.find("GPL-3.0-or-later") != std::string::npos);  // says whose licence is whose
    QVERIFY(card.find("there is no tokenizer file") == std::string::npos);
    QVERIFY(card.find("AutoTokenizer") != std::string::npos && card.find("pipeline(") != std::string::npos);

    const LoadedSpecialist loaded = load_specialist_safetensors(out.string());
    QCOMPARE(loaded.config.n_layer, m_config.n_layer);
    QCOMPARE(loaded.config.n_head, m_config.n_head);
    QCOMPARE(loaded.config.block_size, m_config.block_size);
    QCOMPARE(loaded.theta.size(), m_theta.size());
    QVERIFY(std::memcmp(loaded.theta.data(), m_theta.data(), m_theta.size() * sizeof(float)) == 0);  // bit-identical
    QCOMPARE(loaded.metadata.at("format"), std::string("pt"));
    const auto w = nlohmann::json::parse(loaded.metadata.at("domain_weights"));
    QCOMPARE(w["code"].get<double>(), 0.625);
    QCOMPARE(w["poetry"].get<double>(), 0.125);

    // Without config.json the sizes come from the shapes and n_head from the metadata.
    fs::remove(out / "config.json");
    const LoadedSpecialist again = load_specialist_safetensors((out / "model.safetensors").string());
    QCOMPARE(again.config.n_head, m_config.n_head);
    QVERIFY(again.theta == loaded.theta);
  }

  void formats_select_files() {
    QTemporaryDir tmp;
    const std::string a = tmp.path().toStdString() + "/st", b = tmp.path().toStdString() + "/onnx";
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), a, ExportFormat::kSafetensors);
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), b, ExportFormat::kOnnx);
    QVERIFY((entries(a) == export_files({"model.safetensors"})));
    QVERIFY((entries(b) == export_files({"model.onnx"})));
    ExportFormat f;
    QVERIFY(parse_export_format("onnx", &f) && f == ExportFormat::kOnnx);
    QVERIFY(!parse_export_format("pickle", &f));
  }

  void existing_folder_is_refused_and_untouched() {
    QTemporaryDir tmp;
    const fs::path out = fs::path(tmp.path().toStdString()) / "taken";
    fs::create_directory(out);
    std::ofstream(out / "mine.txt") << "keep me";
    try {
      export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.string());
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find(out.string()) != std::string::npos, e.what());
    }
    QVERIFY((entries(out) == std::vector<std::string>{"mine.txt"}));
    QCOMPARE(read_file((out / "mine.txt").string()), std::string("keep me"));
    QVERIFY((entries(tmp.path().toStdString()) == std::vector<std::string>{"taken"}));

    // With overwrite the folder is replaced as a whole.
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.string(), ExportFormat::kSafetensors, true);
    QVERIFY((entries(out) == export_files({"model.safetensors"})));
    QVERIFY((entries(tmp.path().toStdString()) == std::vector<std::string>{"taken"}));  // old copy deleted
  }

  void failed_export_leaves_nothing() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    // The parent is a file: nothing can be created.
    std::ofstream(root / "afile") << "x";
    QVERIFY_THROWS_EXCEPTION(Error, export_specialist(m_config, m_layout, m_theta.data(), make_card(),
                                                      (root / "afile" / "spec").string()));
    // A failure in the middle (as a full disk would cause) after two files were written.
    int written = 0;
    auto fail_late = [&](const std::string&) {
      if (++written == 2) throw Error("simulated: disk full");
    };
    QVERIFY_THROWS_EXCEPTION(Error, export_specialist(m_config, m_layout, m_theta.data(), make_card(),
                                                      (root / "spec").string(), ExportFormat::kAll, false, fail_late));
    QCOMPARE(written, 2);
    QVERIFY((entries(root) == std::vector<std::string>{"afile"}));
    // The same while overwriting: the old export survives intact.
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), (root / "spec").string(), ExportFormat::kSafetensors);
    written = 0;
    QVERIFY_THROWS_EXCEPTION(Error, export_specialist(m_config, m_layout, m_theta.data(), make_card(),
                                                      (root / "spec").string(), ExportFormat::kAll, true, fail_late));
    QVERIFY((entries(root) == std::vector<std::string>{"afile", "spec"}));
    QVERIFY((entries(root / "spec") == export_files({"model.safetensors"})));
  }

  void inconsistent_card_is_refused_before_writing() {
    QTemporaryDir tmp;
    SpecialistCard card = make_card();
    card.h.pop_back();
    QVERIFY_THROWS_EXCEPTION(Error, export_specialist(m_config, m_layout, m_theta.data(), card, tmp.path().toStdString() + "/x"));
    QVERIFY(entries(tmp.path().toStdString()).empty());
  }

  void load_rejects_wrong_files() {
    QTemporaryDir tmp;
    const fs::path out = fs::path(tmp.path().toStdString()) / "spec";
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.string(), ExportFormat::kSafetensors);
    const std::string st = (out / "model.safetensors").string();
    auto expect = [&](const std::string& needle) {
      try {
        load_specialist_safetensors(out.string());
        QFAIL(qPrintable(QString::fromStdString("no error, expected one with: " + needle)));
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
      }
    };
    // A tensor missing, a shape wrong, an extra tensor: each names the file and the tensor.
    std::vector<TensorView> views;
    for (const auto& e : m_layout.entries)
      if (e.name != "h.1.mlp.c_fc.bias") views.push_back({e.name, DType::kF32, e.shape, m_theta.data() + e.offset});
    write_safetensors(st, views);
    expect(st + ": missing tensor \"h.1.mlp.c_fc.bias\"");
    views.push_back({"h.1.mlp.c_fc.bias", DType::kF32, {4 * m_config.n_embd - 1}, m_theta.data()});
    write_safetensors(st, views);
    expect("\"h.1.mlp.c_fc.bias\" has shape [127]");
    views.back().shape = {4 * m_config.n_embd};
    // lm_head.weight is allowed only as a tied copy of wte.weight.
    views.push_back({"lm_head.weight", DType::kF32, {1}, m_theta.data()});
    write_safetensors(st, views);
    expect("tensor \"lm_head.weight\" has shape [1], wte.weight's is [256, 32]");
    views.back() = {"lm_head.weight", DType::kF32, {256, m_config.n_embd}, m_theta.data() + 1};  // wte's shape, other values
    write_safetensors(st, views);
    expect("\"lm_head.weight\" differs from wte.weight: untied output embeddings are not supported");
    views.back() = {"extra.weight", DType::kF32, {2}, m_theta.data()};
    write_safetensors(st, views);
    expect("unexpected tensor \"extra.weight\" (shape [2])");
    views.back() = {"h.2.attn.bias", DType::kF32, {1}, m_theta.data()};  // no layer 2: not a buffer of ours
    write_safetensors(st, views);
    expect("unexpected tensor \"h.2.attn.bias\"");
    views.pop_back();
    // A dtype other than F32, F16, BF16.
    std::vector<int64_t> ints(size_t(4 * m_config.n_embd), 1);
    for (auto& v : views)
      if (v.name == "h.1.mlp.c_fc.bias") v = {v.name, DType::kI64, v.shape, ints.data()};
    write_safetensors(st, views);
    expect("tensor \"h.1.mlp.c_fc.bias\" is I64, expected F32, F16 or BF16");
    // A config.json of another architecture names config.json.
    write_file_atomically((out / "config.json").string(), "{\"model_type\": \"llama\"}");
    expect((out / "config.json").string() + ": model_type");
    // transformers' GPT-2 options that change the computation are refused, not ignored.
    auto config_with = [&](const char* key, nlohmann::json value) {
      auto j = nlohmann::json::parse(gpt2_config_json(m_config, make_card()));
      j[key] = value;
      write_file_atomically((out / "config.json").string(), j.dump());
    };
    config_with("layer_norm_epsilon", 1e-6);
    expect("layer_norm_epsilon 1e-06 is not supported");
    config_with("scale_attn_by_inverse_layer_idx", true);
    expect("scale_attn_by_inverse_layer_idx");
    config_with("scale_attn_weights", false);
    expect("scale_attn_weights");
    // What transformers may have written instead of one model.safetensors is named.
    fs::remove(out / "model.safetensors");
    write_file_atomically((out / "model.safetensors.index.json").string(), "{}");
    expect("sharded checkpoint (model.safetensors.index.json)");
    fs::remove(out / "model.safetensors.index.json");
    write_file_atomically((out / "pytorch_model.bin").string(), "x");
    expect("pytorch_model.bin, which is not read");
  }

  // The tokenizer files as written (checked here without transformers; the venv test below
  // loads them with it).
  void tokenizer_files() {
    // GPT-2's bytes_to_unicode at its landmarks: printable bytes stand for themselves, the rest
    // take U+0100.. in order (0x00 -> U+0100, ' ' -> U+0120 "Ġ", '\n' -> U+010A "Ċ",
    // 0x7F -> U+0121, 0xAD -> U+0143).
    QCOMPARE(byte_level_char('A'), std::string("A"));
    QCOMPARE(byte_level_char('!'), std::string("!"));
    QCOMPARE(byte_level_char(0x00), std::string("\xC4\x80"));
    QCOMPARE(byte_level_char(' '), std::string("\xC4\xA0"));
    QCOMPARE(byte_level_char('\n'), std::string("\xC4\x8A"));
    QCOMPARE(byte_level_char(0x7F), std::string("\xC4\xA1"));
    QCOMPARE(byte_level_char(0xAD), std::string("\xC5\x83"));
    QCOMPARE(byte_level_char(0xE9), std::string("\xC3\xA9"));  // é stands for itself

    const auto tok = nlohmann::json::parse(tokenizer_json());
    QCOMPARE(tok["model"]["type"].get<std::string>(), std::string("BPE"));
    QVERIFY(tok["model"]["merges"].is_array() && tok["model"]["merges"].empty());
    QVERIFY(tok["added_tokens"].empty());
    const auto& vocab = tok["model"]["vocab"];
    QCOMPARE(int(vocab.size()), 256);
    for (int b = 0; b < 256; ++b) QCOMPARE(vocab.at(byte_level_char(uint8_t(b))).get<int>(), b);  // id == byte
    for (const char* part : {"pre_tokenizer", "decoder"}) {
      QCOMPARE(tok[part]["type"].get<std::string>(), std::string("ByteLevel"));
      QCOMPARE(tok[part]["add_prefix_space"].get<bool>(), false);
      QCOMPARE(tok[part]["use_regex"].get<bool>(), false);
    }
    ModelConfig c = m_config;
    c.block_size = 48;
    const auto tc = nlohmann::json::parse(tokenizer_config_json(c));
    QCOMPARE(tc["tokenizer_class"].get<std::string>(), std::string("PreTrainedTokenizerFast"));
    QCOMPARE(tc["model_max_length"].get<int>(), 48);
    for (const char* special : {"bos_token", "eos_token", "pad_token", "unk_token"}) QVERIFY2(tc[special].is_null(), special);
    const auto gc = nlohmann::json::parse(generation_config_json());
    for (const char* special : {"bos_token_id", "eos_token_id", "pad_token_id"}) QVERIFY2(gc[special].is_null(), special);
    QCOMPARE(gc["temperature"].get<double>(), SampleOptions().temperature);  // souplab-cli generate's defaults
    QCOMPARE(gc["top_k"].get<int>(), SampleOptions().top_k);
  }

  // Licence and lineage in the card's front matter, as a fine-tune or a merge passes them.
  // The one export path (logged_export.h): an export under an existing run, one that makes a run
  // of its own (named in the card, its metrics logged, finished), a failed write that marks
  // that run failed, a taken folder refused before any run exists, and an unknown run as a note.
  void logged_exports_record_their_runs() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    ModelExportOptions options;
    options.run_log_path = (root / "runs.sqlite").string();
    options.format = ExportFormat::kSafetensors;
    int64_t trained = 0;
    {
      RunLog log(options.run_log_path);
      RunInfo info;
      info.name = "trained";
      info.kind = "train";
      trained = log.create_run(info);
    }
    ExportRunRecord existing;
    existing.run_id = trained;
    existing.step = 600;
    std::vector<std::string> notes, stages;
    const ModelExportResult a =
        write_logged_export(m_config, m_theta.data(), make_card(), (root / "a").string(), options, existing, &notes,
                            [&](const std::string& s) { stages.push_back(s); });
    QVERIFY(notes.empty());
    QCOMPARE(a.run_id, int64_t(0));  // no run of its own
    QCOMPARE(int(stages.size()), export_file_count(ExportFormat::kSafetensors) + 1);
    QCOMPARE(stages.back(), std::string("logging"));
    {
      RunLog log(options.run_log_path);
      const auto rows = log.exports(trained);
      QCOMPARE(rows.size(), size_t(1));
      QCOMPARE(rows[0].id, a.export_id);
      QCOMPARE(rows[0].step, int64_t(600));
      QCOMPARE(rows[0].format, std::string("safetensors"));
      QCOMPARE(nlohmann::json::parse(rows[0].domain_weights_json).get<std::vector<double>>(), make_card().h);
      QCOMPARE(nlohmann::json::parse(rows[0].losses_json)["prose"].get<double>(), 2.5);
    }

    ExportRunRecord own;
    own.new_run.emplace();
    own.new_run->name = "merged";
    own.new_run->kind = "merged";
    own.new_run_metrics = {{3, "target", "", "loss", 1.5, 0}};
    const ModelExportResult b =
        write_logged_export(m_config, m_theta.data(), make_card(), (root / "b").string(), options, own, &notes, {});
    QVERIFY(notes.empty());
    QVERIFY(b.run_id > trained);
    QVERIFY(read_file((root / "b" / "README.md").string()).find("(id `" + std::to_string(b.run_id) + "`)") !=
            std::string::npos);
    {
      RunLog log(options.run_log_path);
      QCOMPARE(log.get_run(b.run_id).status, std::string("finished"));
      QCOMPARE(log.metrics(b.run_id, std::string("loss")).at(0).value, 1.5);
      QCOMPARE(log.exports(b.run_id).size(), size_t(1));
    }

    // A write that fails after the run exists: the run is marked failed, no folder is left.
    bool threw = false;
    try {
      write_logged_export(m_config, m_theta.data(), make_card(), (root / "c").string(), options, own, &notes,
                          [](const std::string&) { throw Error("cancelled"); });
    } catch (const Error&) {
      threw = true;
    }
    QVERIFY(threw && !fs::exists(root / "c"));
    {
      RunLog log(options.run_log_path);
      const auto runs = log.list_runs();
      QCOMPARE(runs.size(), size_t(3));
      QCOMPARE(runs.back().status, std::string("failed"));
    }
    // A taken folder: refused before a run is made.
    threw = false;
    try {
      write_logged_export(m_config, m_theta.data(), make_card(), (root / "b").string(), options, own, &notes, {});
    } catch (const Error& e) {
      threw = std::string(e.what()).find("already exists") != std::string::npos;
    }
    QVERIFY(threw);
    QCOMPARE(RunLog(options.run_log_path).list_runs().size(), size_t(3));
    // A run the log does not know: the folder is written, the reason is a note.
    existing.run_id = 999;
    const ModelExportResult d =
        write_logged_export(m_config, m_theta.data(), make_card(), (root / "d").string(), options, existing, &notes, {});
    QVERIFY(fs::exists(root / "d" / "model.safetensors"));
    QCOMPARE(d.export_id, int64_t(0));
    QCOMPARE(notes.size(), size_t(1));
    QVERIFY(notes[0].find("not logged in the run log") != std::string::npos);
  }

  void card_front_matter_lineage() {
    SpecialistCard card = make_card();
    card.license = "apache-2.0";
    card.base_models = {"/data/exports/code spec", "org/model: \"quoted\""};
    card.base_model_relation = "merge";
    const auto yaml = front_matter(model_card_markdown(m_config, card, m_layout.total, {"model.safetensors"}));
    QVERIFY(has_line(yaml, "license: \"apache-2.0\""));
    QVERIFY(has_line(yaml, "base_model:"));
    QVERIFY(has_line(yaml, "- \"/data/exports/code spec\""));
    QVERIFY(has_line(yaml, "- \"org/model: \\\"quoted\\\"\""));  // a JSON string is a YAML scalar
    QVERIFY(has_line(yaml, "base_model_relation: \"merge\""));
    QVERIFY(has_line(yaml, "- merge"));  // tag
    card.base_model_relation = "distilled";
    QVERIFY_THROWS_EXCEPTION(Error, validate(card));
    card.base_model_relation = "finetune";
    card.base_models.clear();
    QVERIFY_THROWS_EXCEPTION(Error, validate(card));
  }

  // F16 and BF16 tensors under transformers' names ("transformer." prefix, a tied lm_head, the
  // attention buffers older releases saved) load as the exact float32 values.
  void loads_half_precision_and_transformers_names() {
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "hf";
    fs::create_directories(dir);
    write_file_atomically((dir / "config.json").string(), gpt2_config_json(m_config, make_card()));
    for (DType dtype : {DType::kF16, DType::kBF16}) {
      std::vector<float> want(m_theta.size());
      std::vector<uint16_t> stored(m_theta.size());
      for (size_t i = 0; i < want.size(); ++i) {
        if (dtype == DType::kBF16) {
          stored[i] = uint16_t(float_bits(m_theta[i]) >> 16);
          const uint32_t b = uint32_t(stored[i]) << 16;
          std::memcpy(&want[i], &b, 4);
        } else {
          want[i] = quantise_f16(m_theta[i]);
          stored[i] = exact_half_bits(want[i]);
        }
      }
      if (dtype == DType::kF16) {  // the subnormal and negative-zero paths of the conversion
        const int64_t at = m_layout.at("ln_f.bias").offset;
        want[size_t(at)] = 3 * std::ldexp(1.0f, -24);
        want[size_t(at) + 1] = -0.0f;
        want[size_t(at) + 2] = -1023 * std::ldexp(1.0f, -24);
        for (int k = 0; k < 3; ++k) stored[size_t(at + k)] = exact_half_bits(want[size_t(at + k)]);
      }
      std::vector<TensorView> views;
      for (const auto& e : m_layout.entries) views.push_back({"transformer." + e.name, dtype, e.shape, stored.data() + e.offset});
      const auto& wte = m_layout.at("wte.weight");
      views.push_back({"lm_head.weight", dtype, wte.shape, stored.data() + wte.offset});
      const int T = m_config.block_size;
      std::vector<uint8_t> mask(size_t(T * T));
      for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j) mask[size_t(i * T + j)] = j <= i;
      const uint16_t masked = exact_half_bits(-1024.0f);
      for (int l = 0; l < m_config.n_layer; ++l) {
        views.push_back({"transformer.h." + std::to_string(l) + ".attn.bias", DType::kBool, {1, 1, T, T}, mask.data()});
        views.push_back({"transformer.h." + std::to_string(l) + ".attn.masked_bias", DType::kF16, {}, &masked});
      }
      write_safetensors((dir / "model.safetensors").string(), views, {{"format", "pt"}});
      const LoadedSpecialist loaded = load_specialist_safetensors(dir.string());
      QCOMPARE(loaded.theta.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        if (float_bits(loaded.theta[i]) != float_bits(want[i]))
          QFAIL(qPrintable(QString("%1: value %2 loads as %3, want %4").arg(dtype_name(dtype)).arg(i)
                               .arg(double(loaded.theta[i])).arg(double(want[i]))));
    }
  }

  // The export, loaded by transformers' AutoTokenizer with no code of ours: ids are bytes,
  // text round-trips, invalid UTF-8 decodes with replacement characters (the stated limit).
  void transformers_tokenizer_round_trips() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    QTemporaryDir tmp;
    const QString out = tmp.path() + "/spec";
    export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.toStdString(), ExportFormat::kSafetensors);
    const auto r = run_process(py_venv_python(), {script_path("check_tokenizer.py"), out});
    QVERIFY2(r.started && r.exit_code == 0, r.err.constData());
    qInfo("check_tokenizer.py: %s", r.out.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["vocab"].get<int>(), 256);
    QVERIFY(j["texts_with_multibyte_characters"].get<int>() > 100);
    QVERIFY(j["invalid_utf8_decoded_with_replacement"].get<int>() > 100);
  }

  // pipeline("text-generation", model=FOLDER) greedy == souplab-cli generate --temperature 0,
  // byte for byte, on the same export. The output embeddings of bytes outside printable ASCII
  // are shrunk so that the continuation is text (the pipeline's str can then be compared
  // exactly too); the prompt has multi-byte characters.
  void pipeline_greedy_matches_cli() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    QTemporaryDir tmp;
    ModelConfig c = m_config;
    c.block_size = 64;  // prompt + 40 new bytes fit: transformers' learned positions stop there
    const ParamLayout layout = gpt_param_layout(c);
    std::vector<float> theta = random_theta(layout, 4242);
    const auto& wte = layout.at("wte.weight");
    for (int b = 0; b < 256; ++b)
      if (b < 0x20 || b >= 0x7F)
        for (int i = 0; i < c.n_embd; ++i) theta[size_t(wte.offset + b * c.n_embd + i)] *= 0.05f;
    const QString out = tmp.path() + "/spec";
    export_specialist(c, layout, theta.data(), make_card(), out.toStdString());
    const std::string prompt = "Gr\xC3\xBC\xC3\x9F" "e, ";  // "Grüße, "
    const int n = 40;

    const auto cli = cli_greedy(out, prompt, n);
    QVERIFY2(cli.started && cli.exit_code == 0, cli.err.constData());
    const std::string cli_out = cli.out.toStdString();
    QVERIFY(cli_out.size() == prompt.size() + n + 1 && cli_out.back() == '\n');
    QCOMPARE(cli_out.substr(0, prompt.size()), prompt);
    const std::string continuation = cli_out.substr(prompt.size(), size_t(n));

    const auto r = run_process(py_venv_python(), {script_path("run_pipeline.py"), out, QString::fromStdString(prompt),
                                                  QString::number(n)});
    QVERIFY2(r.started && r.exit_code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["model_class"].get<std::string>(), std::string("GPT2LMHeadModel"));
    QCOMPARE(j["pipeline_model_class"].get<std::string>(), std::string("GPT2LMHeadModel"));
    const auto* prompt_bytes = reinterpret_cast<const uint8_t*>(prompt.data());
    QVERIFY((j["prompt_ids"].get<std::vector<int>>() == std::vector<int>(prompt_bytes, prompt_bytes + prompt.size())));
    std::string pipeline_bytes;
    for (int id : j["generated_ids"].get<std::vector<int>>()) pipeline_bytes += char(id);
    qInfo("souplab-cli: \"%s\"\npipeline:    \"%s\"", continuation.c_str(), pipeline_bytes.c_str());
    QCOMPARE(pipeline_bytes, continuation);
    QCOMPARE(j["generated_text"].get<std::string>(), prompt + continuation);
    QVERIFY(std::set<char>(continuation.begin(), continuation.end()).size() > 1);  // not one byte repeated
  }

  // Folders saved by transformers' GPT2LMHeadModel.save_pretrained in float32, float16 and
  // bfloat16, and float16 the way older releases wrote it (a tied lm_head.weight, attention
  // buffers), load in SoupLab and give transformers' logits:
  //  - against transformers running the folder's weights in float32: within 1e-4 for every
  //    dtype (float16 and bfloat16 widen to float32 exactly, so only the forward's float32
  //    rounding is left, as for SoupLab's own exports);
  //  - against transformers computing in the folder's own dtype: within 0.05 for float16
  //    (11 significant bits, ~5e-4 relative rounding per operation) and 0.3 for bfloat16 (8
  //    bits, ~4e-3), on logits up to ~13 — transformers' low-precision arithmetic, stated;
  //  - souplab-cli generate (Model::load: the path of init_from, merge, compare and the
  //    explorer's reference) continues a prompt greedily exactly as transformers' generate does.
  // A wrong shape and an untied lm_head are refused naming the tensor and the shapes.
  void loads_transformers_folders() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    QTemporaryDir tmp;
    const QString root = tmp.path() + "/hf";
    const std::string prompt = "Gr\xC3\xBC\xC3\x9F" "e ";
    const auto made = run_process(py_venv_python(), {script_path("make_hf_gpt2.py"), root, QString::fromStdString(prompt)});
    QVERIFY2(made.started && made.exit_code == 0, made.err.constData());
    const auto greedy = nlohmann::json::parse(made.out.toStdString())["greedy"];

    std::mt19937 rng(12);
    std::vector<LogitsCase> cases;
    for (auto [batch, seq] : {std::pair{2, 32}, std::pair{3, 9}}) cases.push_back({batch, seq, random_ids(rng, size_t(batch * seq))});
    const std::vector<std::pair<std::string, double>> folders = {
        {"float32", 1e-4}, {"float16", 0.05}, {"bfloat16", 0.3}, {"legacy", 0.05}};
    for (const auto& [name, native_tolerance] : folders) {
      const QString folder = root + "/" + QString::fromStdString(name);
      const LoadedSpecialist s = load_specialist_safetensors(folder.toStdString());
      QCOMPARE(s.config.vocab_size, 256);
      QCOMPARE(s.config.block_size, 32);
      QCOMPARE(s.config.n_embd, 32);
      QCOMPARE(s.config.n_layer, 2);
      QCOMPARE(s.config.n_head, 2);
      const ParamLayout layout = gpt_param_layout(s.config);
      for (const char* dtype : {"float32", "native"}) {
        const auto got = run_logits_script("run_transformers.py", folder, cases, tmp.path(), {dtype});
        QCOMPARE(got.size(), cases.size());
        const double tolerance = std::string(dtype) == "float32" ? 1e-4 : native_tolerance;
        for (size_t i = 0; i < cases.size(); ++i) {
          const auto ours = reference_gpt_forward(s.config, layout, s.theta.data(), cases[i].ids, cases[i].batch, cases[i].seq);
          const std::string what = name + " folder, transformers in " + dtype;
          QVERIFY2(logits_match(what.c_str(), cases[i], got[i], ours, tolerance), what.c_str());
        }
      }
      const auto cli = cli_greedy(folder, prompt, 12);
      QVERIFY2(cli.started && cli.exit_code == 0, cli.err.constData());
      std::string want = prompt;
      for (int id : greedy[name].get<std::vector<int>>()) want += char(id);
      QCOMPARE(cli.out.toStdString(), want + "\n");
    }

    auto refused = [&](const char* name, const std::string& needle) {
      const QString folder = root + "/" + name;
      try {
        load_specialist_safetensors(folder.toStdString());
        QFAIL("no error");
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
      }
      const auto cli = cli_greedy(folder, prompt, 4);
      QCOMPARE(cli.exit_code, 1);
      QVERIFY2(cli.err.toStdString().find(needle) != std::string::npos, cli.err.constData());
    };
    refused("wrong-shape", "tensor \"transformer.h.1.mlp.c_fc.bias\" has shape [127], the config needs [128]");
    refused("untied", "\"lm_head.weight\" differs from transformer.wte.weight");
  }
};

QTEST_GUILESS_MAIN(TestSpecialistExport)
#include "test_specialist_export.moc"
