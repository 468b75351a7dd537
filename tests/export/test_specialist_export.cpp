// The export folder: its four files, config.json, the model card, refusing to clobber, leaving
// nothing behind on failure, overwriting atomically, and the bit-exact load round trip.
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/export/model_card.h"
#include "engine/export/specialist_export.h"
#include "export_test_util.h"

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

}  // namespace

class TestSpecialistExport : public QObject {
  Q_OBJECT

  ModelConfig m_config = tiny_config();
  ParamLayout m_layout = gpt_param_layout(m_config);
  std::vector<float> m_theta = random_theta(m_layout, 77);

 private Q_SLOTS:
  void writes_four_files_and_round_trips() {
    QTemporaryDir tmp;
    const fs::path out = fs::path(tmp.path().toStdString()) / "exports" / "spec";  // parent made too
    std::vector<std::string> progress;
    const ExportResult r = export_specialist(m_config, m_layout, m_theta.data(), make_card(), out.string(),
                                             ExportFormat::kAll, false, [&](const std::string& f) { progress.push_back(f); });
    QCOMPARE(r.n_params, m_layout.total);
    QVERIFY((entries(out) == std::vector<std::string>{"README.md", "config.json", "model.onnx", "model.safetensors"}));
    QVERIFY(progress == r.files);
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

    const std::string card = read_file((out / "README.md").string());
    const std::vector<std::string> wanted = {"code", "prose", "poetry", "0.6250", "0.2500", "0.1250", "run-42", "soup demo",
                                             "600", "1.2345", "from_pretrained", "onnxruntime", std::to_string(m_layout.total)};
    for (const auto& s : wanted) QVERIFY2(card.find(s) != std::string::npos, s.c_str());

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
    QVERIFY((entries(a) == std::vector<std::string>{"README.md", "config.json", "model.safetensors"}));
    QVERIFY((entries(b) == std::vector<std::string>{"README.md", "config.json", "model.onnx"}));
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
    QVERIFY((entries(out) == std::vector<std::string>{"README.md", "config.json", "model.safetensors"}));
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
    QVERIFY((entries(root / "spec") == std::vector<std::string>{"README.md", "config.json", "model.safetensors"}));
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
        QFAIL("no error");
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
    views.push_back({"lm_head.weight", DType::kF32, {1}, m_theta.data()});
    write_safetensors(st, views);
    expect("unexpected tensor \"lm_head.weight\"");
    // A config.json of another architecture names config.json.
    write_file_atomically((out / "config.json").string(), "{\"model_type\": \"llama\"}");
    expect((out / "config.json").string() + ": model_type");
  }
};

QTEST_GUILESS_MAIN(TestSpecialistExport)
#include "test_specialist_export.moc"
