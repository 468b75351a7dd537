// The CUDA kernels against their CPU references (issue: the GPU path). Runs only where a CUDA
// device exists; elsewhere it exits with CTest's skip code (77), so the suite shows it as
// skipped, never as passed. scripts/gpu-check.sh runs it on a GPU machine (ctest -L cuda).
#include <torch/torch.h>

#include <QtTest>

#include <cstdio>
#include <random>

#include "engine/cuda/cuda_build.h"
#include "engine/nn/adamw.h"
#include "souplab/device.h"

using namespace souplab;

class TestCudaKernels : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // The fused expert step (engine/cuda/factored_adamw.cu) against AdamW::step_factored_cpu:
  // E, m and v after five steps with clipping and a per-column decay mask, for G in registers
  // (1, 4) and G past the register limit (40).
  void factoredAdamWMatchesTheCpuStepOverFiveSteps_data() {
    QTest::addColumn<int>("G");
    QTest::newRow("rank one") << 1;
    QTest::newRow("four groups") << 4;
    QTest::newRow("40 groups (D read from memory)") << 40;
  }
  void factoredAdamWMatchesTheCpuStepOverFiveSteps() {
    QFETCH(int, G);
    const int64_t n = 8, P = 10007;  // P not a multiple of the block size
    torch::manual_seed(3);
    const auto E0 = torch::randn({n, P}) * 0.1;
    const auto mask = (torch::rand({P}) > 0.3).to(torch::kFloat32);
    auto Ec = E0.clone(), Eg = E0.clone().to(torch::kCUDA);
    AdamWOptions o;
    AdamW cpu({Ec}, {mask}, o, {0.25}), gpu({Eg}, {mask.to(torch::kCUDA)}, o, {0.25});
    for (int step = 0; step < 5; ++step) {
      const auto A = torch::randn({G, n}), D = torch::randn({G, P}) * 1e-2;
      cpu.set_factored_grad(0, {A, D});
      gpu.set_factored_grad(0, {A.to(torch::kCUDA), D.to(torch::kCUDA)});
      cpu.step(1e-2, 0.7);
      gpu.step(1e-2, 0.7);
    }
    using Pair = std::tuple<torch::Tensor, torch::Tensor, const char*>;
    for (const auto& [a, b, what] : {Pair{Ec, Eg, "E"}, Pair{cpu.exp_avg()[0], gpu.exp_avg()[0], "m"},
                                     Pair{cpu.exp_avg_sq()[0], gpu.exp_avg_sq()[0], "v"}}) {
      const double scale = a.abs().max().item<double>();
      const double diff = (a - b.cpu()).abs().max().item<double>();
      QVERIFY2(diff <= 1e-5 * scale, qPrintable(QString("%1: max |diff| %2 of max %3").arg(what).arg(diff).arg(scale)));
    }
  }
};

int main(int argc, char** argv) {
  if (!cuda_build_info().compiled || !cuda_available()) {
    std::printf("SKIP: %s\n", cuda_build_info().compiled ? "no CUDA device here" : "this build has no CUDA kernels");
    return 77;
  }
  TestCudaKernels t;
  return QTest::qExec(&t, argc, argv);
}
#include "test_cuda_kernels.moc"
