// The exported ONNX model passes onnx 1.12's checker (IR 8, opset 17) and, run by an independent
// runtime (onnxruntime-node), gives the reference forward's logits for dynamic batch and
// sequence sizes.
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/export/onnx_writer.h"
#include "export_test_util.h"
#include "reference_gpt.h"

using namespace souplab;
using namespace export_test;

namespace {

// Where scripts/install-test-tools.sh put onnxruntime-node: $SOUPLAB_TEST_TOOLS, else the
// folder CMake configured (<build>/test-tools).
QString test_tools_dir() {
  const QByteArray env = qgetenv("SOUPLAB_TEST_TOOLS");
  return env.isEmpty() ? QString(SOUPLAB_TEST_TOOLS_DIR) : QString::fromLocal8Bit(env);
}

}  // namespace

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
    QVERIFY((j["inputs"] == nlohmann::json::parse(R"([["input_ids", ["batch", "sequence"]]])")));
    QVERIFY((j["outputs"] == nlohmann::json::parse(R"([["logits", ["batch", "sequence", 256]]])")));
    QCOMPARE(j["meta"]["domain_weights"].get<std::string>(), std::string("{\"a\":1}"));
    const auto inits = j["inits"].get<std::vector<std::string>>();
    for (const auto& e : m_layout.entries)  // GPT-2 names kept as initializer names
      QVERIFY2(std::find(inits.begin(), inits.end(), e.name) != inits.end(), e.name.c_str());
  }

  void onnxruntime_matches_reference() {
    const QString node = QStandardPaths::findExecutable("node");
    const QString tools = test_tools_dir();
    const bool have_ort = QFileInfo::exists(tools + "/node_modules/onnxruntime-node/package.json");
    if (node.isEmpty() || !have_ort) {
      const QString msg = "\n*** onnxruntime-node NOT FOUND (node: " + (node.isEmpty() ? "missing" : node) +
                          ", tools: " + tools + "): the exported ONNX model was NOT run. Install it with\n"
                          "***   scripts/install-test-tools.sh " + tools + "\n";
      if (qEnvironmentVariableIsSet("SOUPLAB_REQUIRE_TEST_TOOLS")) QFAIL(qPrintable(msg));
      QSKIP(qPrintable(msg));
    }
    // Two batch sizes and three sequence lengths, including the full context and length 1.
    struct Case {
      int batch, seq;
    };
    const std::vector<Case> cases = {{1, 16}, {3, 5}, {2, 1}};
    std::mt19937 rng(7);
    nlohmann::json js = nlohmann::json::array();
    std::vector<std::vector<int64_t>> ids;
    for (const auto& c : cases) {
      std::vector<int64_t> v(size_t(c.batch * c.seq));
      for (auto& x : v) x = int64_t(rng() % 256);
      v[0] = 255;  // both ends of the vocabulary
      v.back() = 0;
      ids.push_back(v);
      js.push_back({{"batch", c.batch}, {"seq", c.seq}, {"ids", v}});
    }
    const QString cases_file = m_dir.path() + "/cases.json";
    std::ofstream(cases_file.toStdString()) << js.dump();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("NODE_PATH", tools + "/node_modules");
    const QString prefix = m_dir.path() + "/logits_";
    const auto r = run_process(node, {script_path("run_onnx.js"), m_model, cases_file, prefix}, env);
    QVERIFY2(r.started, "cannot start node");
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const auto summary = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(summary.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto& c = cases[i];
      QVERIFY((summary[i]["dims"] == nlohmann::json::array({c.batch, c.seq, 256})));
      QFile f(prefix + QString::number(i) + ".f32");
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray bytes = f.readAll();
      const size_t n = size_t(c.batch) * size_t(c.seq) * 256;
      QCOMPARE(size_t(bytes.size()), n * sizeof(float));
      std::vector<float> got(n);
      std::memcpy(got.data(), bytes.constData(), bytes.size());
      const auto want = reference_gpt_forward(m_config, m_layout, m_theta.data(), ids[i], c.batch, c.seq);
      double max_diff = 0, max_abs = 0;
      for (size_t k = 0; k < n; ++k) {
        max_diff = std::max(max_diff, double(std::abs(got[k] - want[k])));
        max_abs = std::max(max_abs, double(std::abs(want[k])));
      }
      qInfo("case batch %d seq %d: max |logit| %.3f, max |onnx - reference| %.3g", c.batch, c.seq, max_abs, max_diff);
      QVERIFY(max_abs > 0.5);  // the logits are not trivially small, so the comparison means something
      QVERIFY2(max_diff < 1e-4, qPrintable(QString("max abs difference %1").arg(max_diff)));
    }
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
