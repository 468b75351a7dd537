// The CUDA kernels against their CPU references (issue: the GPU path). Runs only where a CUDA
// device exists; elsewhere it exits with CTest's skip code (77), so the suite shows it as
// skipped, never as passed. scripts/gpu-check.sh runs it on a GPU machine (ctest -L cuda).
#include <torch/torch.h>

#include <QtTest>

#include <cstdio>
#include <random>

#include <QTemporaryDir>

#include "distributed_job.h"
#include "engine/cuda/cuda_build.h"
#include "engine/nn/adamw.h"
#include "engine/nn/instantiate_cast.h"
#include "souplab/device.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

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

  // Instantiation fused with the cast (engine/cuda/instantiate_cast.cu) against the CPU loop:
  // the same sums in the same order without fused multiply-adds, so every element is equal.
  void instantiateCastMatchesTheCpuLoopBitForBit_data() {
    QTest::addColumn<int>("dtype_index");
    QTest::newRow("float32") << int(torch::kFloat32);
    QTest::newRow("bfloat16") << int(torch::kBFloat16);
    QTest::newRow("float16") << int(torch::kFloat16);
  }
  void instantiateCastMatchesTheCpuLoopBitForBit() {
    QFETCH(int, dtype_index);
    const auto dtype = torch::ScalarType(dtype_index);
    const int64_t n = 16, P = 100003;
    torch::manual_seed(5);
    const auto S = torch::randn({P}), E = torch::randn({n, P}) * 0.1, alpha = torch::randn({n});
    const auto cpu = instantiate_cast_cpu(S, E, alpha, dtype);
    const auto gpu = instantiate_cast(S.to(torch::kCUDA), E.to(torch::kCUDA), alpha.to(torch::kCUDA), dtype);
    QVERIFY(gpu.is_cuda());
    QCOMPARE(gpu.scalar_type(), dtype);
    const auto back = gpu.cpu();
    const int64_t differ = (back.to(torch::kFloat32) != cpu.to(torch::kFloat32)).sum().item<int64_t>();
    QVERIFY2(differ == 0, qPrintable(QString("%1 of %2 elements differ from the CPU loop").arg(differ).arg(P)));
  }

  // Data parallel over NCCL (the CUDA build's backend for CUDA devices): two ranks on two GPUs
  // train what one GPU trains with the same global batch. Needs two devices (NCCL refuses two
  // ranks on one); skipped otherwise.
  void ncclTwoRanksEqualOneRank() {
    if (torch::cuda::device_count() < 2) QSKIP("NCCL needs two CUDA devices");
    QTemporaryDir tmp;
    qputenv("SOUPLAB_CACHE_DIR", tmp.filePath("cache").toUtf8());
    qputenv("SOUPLAB_DATA_DIR", tmp.filePath("data").toUtf8());
    test_util::make_corpus(tmp.filePath("corpus"), 3, 60000);
    const std::string log = tmp.filePath("runs.sqlite").toStdString();
    RunConfig one = test_util::tiny_run_config(tmp.filePath("corpus"), tmp.filePath("one"), 20);
    one.train.device = "cuda:0";
    auto single = Trainer::start_new(one, log);
    single->run({});
    RunConfig two = test_util::tiny_run_config(tmp.filePath("corpus"), tmp.filePath("two"), 20);
    two.train.device = "auto";  // each rank takes cuda:LOCAL_RANK
    auto job = test_util::run_job(2, [&](const DistributedOptions& d) { return Trainer::start_new(two, log, {}, d); });
    for (const auto& r : job) QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(QString::fromStdString(job[1].trainer->device()), QStringLiteral("cuda:1"));
    const double diff = test_util::max_difference(single->last_checkpoint(), job[0].trainer->last_checkpoint());
    QVERIFY2(diff < 1e-4, qPrintable(QString("NCCL job differs from one GPU by %1").arg(diff)));
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
