#pragma once
// Helpers shared by the export suites: running the independent checkers (Debian's Python with
// onnx and numpy; the project's PyPI venv with onnxruntime and transformers) and making random
// models.
#include <QByteArray>
#include <QDir>
#include <QFileInfo>
#include <QtTest>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/param_layout.h"

namespace export_test {

struct ProcessResult {
  int exit_code = -1;
  bool started = false;
  QByteArray out, err;
};

inline ProcessResult run_process(const QString& program, const QStringList& args,
                                 const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                                 int timeout_ms = 120000) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(program, args);
  ProcessResult r;
  r.started = p.waitForStarted(10000);
  if (!r.started) return r;
  p.waitForFinished(timeout_ms);
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  return r;
}

inline QString source_dir() {
  const QByteArray env = qgetenv("SOUPLAB_SOURCE_DIR");
  return env.isEmpty() ? QString(SOUPLAB_TEST_SOURCE_DIR) : QString::fromLocal8Bit(env);
}

inline QString script_path(const char* name) { return source_dir() + "/tests/export/" + name; }

// Debian's interpreter: the one python3-onnx and python3-numpy install into.
inline const char* kPython = "/usr/bin/python3";

// The project's Python venv from PyPI (scripts/install-py-tools.sh): $SOUPLAB_PY_VENV, else the
// folder CMake configured.
inline QString py_venv() {
  const QByteArray env = qgetenv("SOUPLAB_PY_VENV");
  return env.isEmpty() ? QString(SOUPLAB_PY_VENV) : QString::fromLocal8Bit(env);
}
inline QString py_venv_python() { return py_venv() + "/bin/python"; }

// Whether the venv is there. Without it the independent runtimes cannot run: a loud skip, or a
// failure when SOUPLAB_REQUIRE_TEST_TOOLS is set (the README's test command sets it).
inline bool py_tools_present(QString* message) {
  if (QFileInfo(py_venv_python()).isExecutable()) return true;
  *message = "\n*** Python test tools NOT FOUND (" + py_venv() + "): the export was NOT checked by an\n"
             "*** independent runtime. Install them with  scripts/install-py-tools.sh " + py_venv() + "\n";
  return false;
}
#define SOUPLAB_REQUIRE_PY_TOOLS()                                                        \
  do {                                                                                    \
    QString missing_;                                                                     \
    if (!export_test::py_tools_present(&missing_)) {                                      \
      if (qEnvironmentVariableIsSet("SOUPLAB_REQUIRE_TEST_TOOLS")) QFAIL(qPrintable(missing_)); \
      QSKIP(qPrintable(missing_));                                                        \
    }                                                                                     \
  } while (0)

struct LogitsCase {
  int batch, seq;
  std::vector<int64_t> ids;  // batch * seq
};

// Runs tests/export/<script> MODEL CASES.json PREFIX [EXTRA...] in the venv (run_onnx.py,
// run_transformers.py) and returns each case's logits (batch * seq * 256 floats), checking the
// shapes it reports. Fails the calling test (returns empty) on any error.
inline std::vector<std::vector<float>> run_logits_script(const char* script, const QString& model,
                                                         const std::vector<LogitsCase>& cases,
                                                         const QString& work_dir, const QStringList& extra = {}) {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& c : cases) js.push_back({{"batch", c.batch}, {"seq", c.seq}, {"ids", c.ids}});
  const QString cases_file = work_dir + "/" + script + ".cases.json";
  std::ofstream(cases_file.toStdString()) << js.dump();
  const QString prefix = work_dir + "/" + script + ".logits_";
  const auto r = run_process(py_venv_python(), QStringList{script_path(script), model, cases_file, prefix} + extra);
  if (!r.started || r.exit_code != 0) {
    qWarning("%s failed (started %d, exit %d):\n%s", script, int(r.started), r.exit_code, r.err.constData());
    return {};
  }
  const auto summary = nlohmann::json::parse(r.out.toStdString());
  if (summary.size() != cases.size()) return {};
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    if (summary[i]["dims"] != nlohmann::json::array({c.batch, c.seq, 256})) return {};
    QFile f(prefix + QString::number(i) + ".f32");
    if (!f.open(QIODevice::ReadOnly)) return {};
    const QByteArray bytes = f.readAll();
    std::vector<float> logits(size_t(c.batch) * size_t(c.seq) * 256);
    if (size_t(bytes.size()) != logits.size() * sizeof(float)) return {};
    std::memcpy(logits.data(), bytes.constData(), size_t(bytes.size()));
    out.push_back(std::move(logits));
  }
  return out;
}

// Random token ids with both ends of the vocabulary present.
inline std::vector<int64_t> random_ids(std::mt19937& rng, size_t n) {
  std::vector<int64_t> v(n);
  for (auto& x : v) x = int64_t(rng() % 256);
  v.front() = 255;
  v.back() = 0;
  return v;
}

// Compares logits from an independent runtime with the expected ones: not trivially small (so
// the comparison means something) and within `tolerance` everywhere. Logs the figures.
inline bool logits_match(const char* what, const LogitsCase& c, const std::vector<float>& got,
                         const std::vector<float>& want, double tolerance) {
  if (got.size() != want.size()) return false;
  double max_abs = 0, diff = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_abs = std::max(max_abs, double(std::abs(want[i])));
    diff = std::max(diff, double(std::abs(got[i] - want[i])));
  }
  qInfo("%s, batch %d seq %d: max |logit| %.3f, max difference %.3g", what, c.batch, c.seq, max_abs, diff);
  return max_abs > 0.5 && diff < tolerance;
}

// A random theta whose logits are O(1), so a wrong op shows far above float32 rounding.
inline std::vector<float> random_theta(const souplab::ParamLayout& layout, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> theta(size_t(layout.total));
  for (const auto& e : layout.entries) {
    const bool is_norm = e.name.find("ln_") != std::string::npos;
    const bool is_bias = e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".bias") == 0;
    for (int64_t i = 0; i < e.numel; ++i) {
      float v = n(rng);
      if (is_norm && !is_bias) v = 1.0f + 0.1f * v;
      else if (is_bias) v *= 0.05f;
      else if (e.name == "wte.weight" || e.name == "wpe.weight") v *= 0.5f;
      else v *= 0.15f;
      theta[size_t(e.offset + i)] = v;
    }
  }
  return theta;
}

inline souplab::ModelConfig tiny_config() {
  souplab::ModelConfig c;
  c.n_layer = 2;
  c.n_embd = 32;
  c.n_head = 4;
  c.block_size = 16;
  return c;
}

}  // namespace export_test
