// Export round trip with libtorch: a random Soup-of-Experts bank saved as a checkpoint, opened
// with Model::load, instantiated at a random h and exported with export_specialist must
//  (a) load back with Model::load as a dense model with bit-identical parameters and exactly
//      the same logits (same floats, same forward code: any difference is a bug, not rounding);
//  (b) as model.onnx, run by an independent runtime (onnxruntime), give libtorch's logits
//      within 1e-4 for two different (batch, seq) shapes;
//  (c) as a folder, load with Hugging Face transformers (GPT2LMHeadModel.from_pretrained) and
//      give the same logits within 1e-4 — the promise that the folder opens where models do;
//  (d) as GGUF (f32, f16, q8_0), read back by the gguf package and run by llama.cpp
//      (tests/export/check_gguf.py states the tolerances per type).
#include <torch/torch.h>

#include <QFileInfo>
#include <algorithm>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "souplab/domain_weights.h"
#include "souplab/param_layout.h"
#include "engine/export/specialist_export.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/soup.h"
#include "export_test_util.h"

using namespace souplab;
using namespace export_test;

namespace {

constexpr int kDomains = 4;
constexpr int kExperts = 3;

BankConfig tiny_bank() {
  BankConfig b;
  b.n_experts = kExperts;
  b.coef_hidden = 16;
  b.expert_init_scale = 1.0;
  return b;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::abs(a[i] - b[i])));
  return d;
}

}  // namespace

class TestExportLibtorch : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  ModelConfig m_model = tiny_config();
  std::vector<std::string> m_domains{"code_c", "licenses", "prose", "mail"};
  DomainWeights m_h;
  std::shared_ptr<const Model> m_bank;
  std::shared_ptr<const DenseSpecialist> m_spec;
  QString m_export;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    torch::manual_seed(5);
    SoupBank bank(m_model, tiny_bank(), kDomains, torch::kCPU);
    bank.init(11);
    {
      // O(1) shared weights and sizeable experts, so the logits are O(1) and a wrong mixture,
      // a wrong op or a lost tensor shows far above float32 rounding.
      torch::NoGradGuard no_grad;
      const auto named = bank.named_parameters();
      QCOMPARE(named[0].first, std::string("S"));
      QCOMPARE(named[1].first, std::string("E"));
      const ParamLayout& layout = bank.layout();
      auto S = random_theta(layout, 101);
      named[0].second.copy_(torch::from_blob(S.data(), {layout.total}, torch::kFloat32));
      for (int j = 0; j < kExperts; ++j) {
        auto Ej = random_theta(layout, 200 + j);
        named[1].second[j].copy_(torch::from_blob(Ej.data(), {layout.total}, torch::kFloat32) * 0.3);
      }
    }
    TrainState s;
    s.config.model = m_model;
    s.config.bank = tiny_bank();
    s.config.bank.n_domains = kDomains;
    s.domains = m_domains;
    s.step = 42;
    s.run_name = "export-roundtrip";
    const std::string ckpt = m_dir.filePath("bank.ckpt").toStdString();
    save_checkpoint(ckpt, bank, nullptr, s);

    m_bank = Model::load(ckpt, "cpu");
    QCOMPARE(int(m_bank->kind()), int(ModelKind::kSoup));
    QCOMPARE(m_bank->facts().domains, m_domains);
    // A random interior point of the simplex (every expert coefficient depends on it).
    std::mt19937 rng(2024);
    std::exponential_distribution<double> e(1.0);
    std::vector<double> h(kDomains);
    for (auto& v : h) v = e(rng);
    m_h = m_bank->weights(h);
    m_spec = m_bank->instantiate_dense(m_h);

    SpecialistCard card;
    card.run_id = "0";
    card.run_name = s.run_name;
    card.run_kind = ModelKind::kSoup;
    card.step = s.step;
    card.source_checkpoint = ckpt;
    card.domain_names = m_domains;
    card.h = m_spec->domain_weights().values();
    const auto theta = m_spec->parameters();
    const ParamLayout layout = gpt_param_layout(m_spec->model_config());
    QCOMPARE(int64_t(theta.size()), layout.total);
    m_export = m_dir.filePath("specialist");
    const ExportResult r = export_specialist(m_spec->model_config(), layout, theta.data(), card,
                                             m_export.toStdString(), ExportFormat::kAll);
    QCOMPARE(r.files.size(), size_t(8));
    for (const char* f : {"model.safetensors", "config.json", "model.onnx", "model-f16.gguf", "tokenizer.json",
                          "tokenizer_config.json", "generation_config.json", "README.md"})
      QVERIFY2(QFileInfo::exists(m_export + "/" + f), f);
  }

  void reloadedExportIsBitIdentical() {
    auto loaded = Model::load(m_export.toStdString(), "cpu");
    const ModelFacts& f = loaded->facts();
    QCOMPARE(int(f.kind), int(ModelKind::kSpecialist));
    QCOMPARE(f.config.model.n_layer, m_model.n_layer);
    QCOMPARE(f.config.model.n_embd, m_model.n_embd);
    QCOMPARE(f.config.model.n_head, m_model.n_head);
    QCOMPARE(f.config.model.block_size, m_model.block_size);
    QCOMPARE(f.step, int64_t(42));

    auto dense = loaded->instantiate_dense(loaded->weights(m_h.values()));
    const auto want = m_spec->parameters();
    const auto got = dense->parameters();
    QCOMPARE(got.size(), want.size());
    QVERIFY2(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0,
             "reloaded parameters differ from the source specialist's");

    std::mt19937 rng(9);
    for (auto [batch, T] : {std::pair{2, 16}, std::pair{3, 5}}) {
      const auto ids = random_ids(rng, size_t(batch * T));
      const auto a = m_spec->logits(ids, batch, T);
      const auto b = dense->logits(ids, batch, T);
      QCOMPARE(b.size(), a.size());
      const double diff = max_abs_diff(a, b);
      qInfo("batch %d seq %d: max |reloaded - source| = %g", batch, T, diff);
      QVERIFY2(diff == 0.0, qPrintable(QString("max abs difference %1").arg(diff)));
    }
  }

  // The export records its domains and h (safetensors metadata), so the explorer can line the
  // reloaded specialist's losses up with a bank's domains.
  void reloadedExportKeepsDomainsAndWeights() {
    auto loaded = Model::load(m_export.toStdString(), "cpu");
    const ModelFacts& f = loaded->facts();
    QCOMPARE(f.domains, m_domains);
    QCOMPARE(f.training_mixture.size(), m_h.size());
    for (size_t i = 0; i < m_h.size(); ++i) QVERIFY(f.training_mixture[i] == m_spec->domain_weights()[i]);
    QVERIFY(loaded->instantiate(loaded->weights(m_h.values()))->domain_weights() == m_spec->domain_weights());
  }

  void onnxruntimeMatchesLibtorch() { compareWithIndependentRuntime("run_onnx.py", m_export + "/model.onnx"); }
  void transformersMatchesLibtorch() { compareWithIndependentRuntime("run_transformers.py", m_export); }

  // GGUF in every type: the gguf package's reading of each tensor against the float32 weights,
  // and llama.cpp's logits and greedy continuation against the specialist's (souplab's greedy
  // bytes). llama.cpp comes from llama-cpp-python in the project's venv (scripts/install-py-tools.sh
  // builds it); without it the script checks the rest, and SOUPLAB_REQUIRE_TEST_TOOLS (the
  // README's test command) makes its absence a failure.
  void ggufRunsInLlamaCpp() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    const std::string prompt = "int f(";
    SampleOptions greedy;
    greedy.temperature = 0;
    greedy.max_new_tokens = 8;  // 6 + 8 bytes within the context of 16
    const std::string continuation = m_spec->generate(prompt, greedy);
    QCOMPARE(int(continuation.size()), 8);
    auto csv = [](const std::string& bytes) {
      QStringList out;
      for (unsigned char b : bytes) out << QString::number(b);
      return out.join(',');
    };
    const auto theta = m_spec->parameters();
    const ParamLayout layout = gpt_param_layout(m_spec->model_config());
    for (ExportFormat f : {ExportFormat::kGgufF16, ExportFormat::kGgufF32, ExportFormat::kGgufQ8_0}) {
      const QString name = export_format_name(f);
      QString file = m_export + "/model-f16.gguf";  // the kAll export's
      if (f != ExportFormat::kGgufF16) {
        SpecialistCard card;
        card.run_name = "gguf test";
        const std::string dir = m_dir.filePath(name).toStdString();
        const ExportResult r = export_specialist(m_spec->model_config(), layout, theta.data(), card, dir, f);
        const std::string want = "model-" + name.mid(5).toStdString() + ".gguf";
        QVERIFY2(std::find(r.files.begin(), r.files.end(), want) != r.files.end(), want.c_str());
        file = QString::fromStdString(dir + "/" + want);
      }
      QStringList args{script_path("check_gguf.py"), file, m_export + "/model.safetensors", "--ids", csv(prompt),
                       "--greedy", csv(continuation)};
      if (qEnvironmentVariableIsSet("SOUPLAB_REQUIRE_TEST_TOOLS")) args << "--require-llama";
      const auto r = run_process(py_venv_python(), args);
      QVERIFY2(r.started, "cannot start the venv's python");
      qInfo("%s: %s", qPrintable(name), r.out.constData());
      QVERIFY2(r.exit_code == 0, qPrintable(name + ": " + QString(r.out) + "\n" + QString(r.err)));
    }
  }

 private:
  // The full context and a ragged shorter one, the specialist's own logits as the reference
  // (what souplab-cli eval/generate compute).
  void compareWithIndependentRuntime(const char* script, const QString& model) {
    SOUPLAB_REQUIRE_PY_TOOLS();
    std::mt19937 rng(77);
    std::vector<LogitsCase> cases;
    for (auto [batch, seq] : {std::pair{2, 16}, std::pair{3, 7}})
      cases.push_back({batch, seq, random_ids(rng, size_t(batch * seq))});
    const auto got = run_logits_script(script, model, cases, m_dir.path());
    QCOMPARE(got.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i)
      QVERIFY(logits_match(script, cases[i], got[i], m_spec->logits(cases[i].ids, cases[i].batch, cases[i].seq), 1e-4));
  }
};

QTEST_GUILESS_MAIN(TestExportLibtorch)
#include "test_export_libtorch.moc"
