// The exported ONNX model passes onnx 1.12's checker (IR 8, opset 17) and, run by an independent
// runtime (onnxruntime from PyPI, scripts/install-py-tools.sh), gives the reference forward's logits for dynamic batch and
// sequence sizes.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "engine/export/onnx_writer.h"
#include "export_test_util.h"
#include "reference_gpt.h"

using namespace souplab;
using namespace export_test;

class TestOnnxExport : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  ModelConfig m_config = tiny_config();
  ParamLayout m_layout = gpt_param_layout(m_config);
  std::vector<float> m_theta = random_theta(m_layout, 1234);
  QString m_model;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_model = m_dir.path() + "/model.onnx";
    write_gpt_onnx(m_model.toStdString(), m_config, m_layout, m_theta.data(), {{"domain_weights", "{\"a\":1}"}});
    QVERIFY(QFileInfo(m_model).size() > m_layout.total * 4);
  }

  void passes_onnx_checker() {
    const char* code =
        "import json, sys, onnx\n"
        "m = onnx.load(sys.argv[1])\n"
        "onnx.checker.check_model(m, full_check=True)\n"
        "dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]\n"
        "print(json.dumps({'ir': m.ir_version, 'opset': [[o.domain, o.version] for o in m.opset_import],\n"
        "  'inputs': [[i.name, dims(i)] for i in m.graph.input],\n"
        "  'outputs': [[o.name, dims(o)] for o in m.graph.output],\n"
        "  'inits': sorted(i.name for i in m.graph.initializer),\n"
        "  'meta': {p.key: p.value for p in m.metadata_props}}))\n";
    const auto r = run_process(kPython, {"-c", code, m_model});
    QVERIFY2(r.started, "cannot start /usr/bin/python3");
    QVERIFY2(r.exit_code == 0, qPrintable("onnx.checker failed (python3-onnx installed?):\n" + QString(r.err)));
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["ir"].get<int>(), 8);
    QVERIFY((j["opset"] == nlohmann::json::parse(R"([["", 17]])")));
    // A decoder with a KV cache, under optimum's and onnxruntime-genai's names (2 layers, 4 heads of 8).
    nlohmann::json inputs = nlohmann::json::parse(R"([["input_ids", ["batch", "sequence"]],
        ["attention_mask", ["batch", "past_sequence + sequence"]], ["position_ids", ["batch", "sequence"]]])");
    nlohmann::json outputs = nlohmann::json::parse(R"([["logits", ["batch", "sequence", 256]]])");
    for (int i = 0; i < 2; ++i)
      for (const char* kv : {"key", "value"}) {
        inputs.push_back({"past_key_values." + std::to_string(i) + "." + kv, {"batch", 4, "past_sequence", 8}});
        outputs.push_back({"present." + std::to_string(i) + "." + kv, {"batch", 4, "past_sequence + sequence", 8}});
      }
    QVERIFY2(j["inputs"] == inputs, j["inputs"].dump().c_str());
    QVERIFY2(j["outputs"] == outputs, j["outputs"].dump().c_str());
    QCOMPARE(j["meta"]["domain_weights"].get<std::string>(), std::string("{\"a\":1}"));
    const auto inits = j["inits"].get<std::vector<std::string>>();
    for (const auto& e : m_layout.entries)  // GPT-2 names kept as initializer names
      QVERIFY2(std::find(inits.begin(), inits.end(), e.name) != inits.end(), e.name.c_str());
  }

  void onnxruntime_matches_reference() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    // Two batch sizes and three sequence lengths, including the full context and length 1.
    std::mt19937 rng(7);
    std::vector<LogitsCase> cases;
    for (auto [batch, seq] : {std::pair{1, 16}, std::pair{3, 5}, std::pair{2, 1}})
      cases.push_back({batch, seq, random_ids(rng, size_t(batch * seq))});
    const auto got = run_logits_script("run_onnx.py", m_model, cases, m_dir.path());
    QCOMPARE(got.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto& c = cases[i];
      const auto want = reference_gpt_forward(m_config, m_layout, m_theta.data(), c.ids, c.batch, c.seq);
      QVERIFY(logits_match("onnxruntime vs reference", c, got[i], want, 1e-4));
    }
  }

  // The cache and the mask in onnxruntime (tests/export/check_onnx_generation.py): a left-padded
  // batch of unequal prompts equals the prompts one by one; greedy generation with the cache
  // equals generation without it (tokens, and logits within 1e-4), alone and batched.
  void generates_with_its_cache_and_mask() {
    SOUPLAB_REQUIRE_PY_TOOLS();
    const auto r = run_process(py_venv_python(), {script_path("check_onnx_generation.py"), m_model, "--tokens", "6"});
    QVERIFY2(r.started, "cannot start the venv's python");
    QVERIFY2(r.exit_code == 0, qPrintable(QString(r.out) + "\n" + QString(r.err)));
    const auto j = nlohmann::json::parse(r.out.toStdString());
    qInfo("%s", j.dump().c_str());
    QVERIFY(j["ok"].get<bool>());
    QVERIFY(j["padded_vs_alone_max_abs"].get<double>() < 1e-4);
    QVERIFY(j["single_tokens_equal"].get<bool>() && j["batch_tokens_equal"].get<bool>());
    QVERIFY(j["batch_cached_vs_uncached_max_abs"].get<double>() < 1e-4);
    QVERIFY(j["batch_tokens_equal_alone"].get<bool>());
  }

  void rejects_bad_input() {
    const std::string path = (m_dir.path() + "/bad.onnx").toStdString();
    try {
      write_gpt_onnx(path, m_config, m_layout, nullptr);
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find(path) != std::string::npos);
    }
    ModelConfig other = m_config;
    other.n_layer = 3;
    QVERIFY_THROWS_EXCEPTION(Error, write_gpt_onnx(path, other, m_layout, m_theta.data()));
    QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));
  }

  void deterministic_bytes() {
    // Same input, same file: exports can be compared and cached by hash.
    QCOMPARE(encode_gpt_onnx(m_config, m_layout, m_theta.data()), encode_gpt_onnx(m_config, m_layout, m_theta.data()));
  }
};

QTEST_GUILESS_MAIN(TestOnnxExport)
#include "test_onnx_export.moc"
