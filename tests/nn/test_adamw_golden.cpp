// The engine's AdamW against PyTorch's torch.optim.AdamW (llm.c's test_gpt2 style): 10 steps on
// fixed tensors with a per-element decay mask (repeated along the experts' leading dimension),
// a learning-rate scale per tensor, a schedule and gradient clipping, from the reference written
// by make_adamw_golden.py (adamw_golden.json, committed). Both update paths are checked: the
// fused CPU loop (contiguous gradients) and the tensor-op path the GPU takes (strided ones).
#include <torch/torch.h>

#include <QtTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/nn/adamw.h"

using namespace souplab;

namespace {

constexpr double kTolerance = 1e-6;  // max |engine - PyTorch| over every parameter, after 10 steps

torch::Tensor tensor_of(const nlohmann::json& values, const std::vector<int64_t>& shape) {
  const auto v = values.get<std::vector<float>>();
  return torch::tensor(v, torch::kFloat32).view(shape).clone();
}

// The same values as a strided (non-contiguous) tensor: the transpose of a contiguous one.
torch::Tensor strided(const torch::Tensor& t) {
  if (t.dim() == 1) return torch::stack({t, torch::zeros_like(t)}, 1).select(1, 0);
  return t.t().contiguous().t();
}

}  // namespace

class TestAdamwGolden : public QObject {
  Q_OBJECT
  nlohmann::json m_ref;

  // Runs the reference's 10 steps and compares; `strided_grads` takes the tensor-op path.
  void check(bool strided_grads) {
    std::vector<torch::Tensor> params, masks, finals;
    std::vector<double> scales;
    for (const auto& t : m_ref["tensors"]) {
      const auto shape = t["shape"].get<std::vector<int64_t>>();
      params.push_back(tensor_of(t["initial"], shape));
      finals.push_back(tensor_of(t["final"], shape));
      // The mask (P) of an (n, P) tensor repeats along n, as SoupBank's theta mask does for E.
      masks.push_back(t["mask"].is_null() ? torch::Tensor()
                                          : tensor_of(t["mask"], {int64_t(t["mask"].size())}));
      scales.push_back(t["lr_scale"].get<double>());
    }
    AdamWOptions o;
    o.beta1 = m_ref["beta1"].get<double>();
    o.beta2 = m_ref["beta2"].get<double>();
    o.eps = m_ref["eps"].get<double>();
    o.weight_decay = m_ref["weight_decay"].get<double>();
    AdamW opt(params, masks, o, scales);
    const auto lrs = m_ref["lrs"].get<std::vector<double>>();
    const auto clip = m_ref["clip_scales"].get<std::vector<double>>();
    for (size_t s = 0; s < lrs.size(); ++s) {
      for (size_t i = 0; i < params.size(); ++i) {
        auto g = tensor_of(m_ref["grads"][s][i], params[i].sizes().vec());
        params[i].mutable_grad() = strided_grads ? strided(g) : g;
        QCOMPARE(params[i].grad().is_contiguous(), !strided_grads);
      }
      const double scale = grad_clip_scale(params, m_ref["max_norm"].get<double>());
      QVERIFY2(std::abs(scale - clip[s]) < 1e-6,
               qPrintable(QString("step %1: clip scale %2, PyTorch %3").arg(s).arg(scale).arg(clip[s])));
      opt.step(lrs[s], scale);
    }
    double worst = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      const double e = (params[i] - finals[i]).abs().max().item<double>();
      qInfo("%s: max |engine - torch| = %.3g (moved by %.3g)", m_ref["tensors"][i]["name"].get<std::string>().c_str(),
            e, (finals[i] - tensor_of(m_ref["tensors"][i]["initial"], finals[i].sizes().vec())).abs().max().item<double>());
      worst = std::max(worst, e);
    }
    QVERIFY2(worst <= kTolerance, qPrintable(QString("max abs difference %1").arg(worst)));
  }

 private Q_SLOTS:
  void initTestCase() {
    std::ifstream f(SOUPLAB_ADAMW_GOLDEN);
    QVERIFY2(f.good(), SOUPLAB_ADAMW_GOLDEN);
    std::stringstream text;
    text << f.rdbuf();
    m_ref = nlohmann::json::parse(text.str());
    QCOMPARE(int(m_ref["lrs"].size()), 10);
  }

  void fusedCpuStepMatchesTorch() { check(false); }
  void tensorOpStepMatchesTorch() { check(true); }
};

QTEST_APPLESS_MAIN(TestAdamwGolden)
#include "test_adamw_golden.moc"
