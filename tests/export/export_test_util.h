#pragma once
// Helpers shared by the export suites: running the independent checkers (Python, Node) and
// making random models.
#include <QByteArray>
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

#include "engine/core/config.h"
#include "engine/core/param_layout.h"

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
