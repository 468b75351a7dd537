// Run-time device choice in both builds: without a GPU the default device is the CPU, asking for
// CUDA is a clear error saying why, and `souplab-cli info`'s CUDA line matches how the build was
// made (the CUDA build with --torch pypi says "compiled", Debian's libtorch "not compiled").
#include <QtTest>

#include "souplab/error.h"
#include "engine/cuda/cuda_build.h"
#include "souplab/device.h"

using namespace souplab;

class TestDevice : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cudaLineMatchesTheBuild() {
    const std::string line = cuda_status_string();
    qInfo("%s; %s", torch_version_string().c_str(), line.c_str());
#ifdef SOUPLAB_TEST_CUDA_BUILD
    QVERIFY(cuda_build_info().compiled);
    QVERIFY2(line.rfind("CUDA: compiled (" + cuda_build_info().version + ")", 0) == 0, line.c_str());
#else
    QVERIFY(!cuda_build_info().compiled);
    QVERIFY2(line.rfind("CUDA: not compiled", 0) == 0, line.c_str());
#endif
  }

  void defaultIsTheCpuWithoutAGpu() {
    if (cuda_available()) QSKIP("a CUDA device is present: auto picks it (scripts/gpu-check.sh covers that)");
    QCOMPARE(select_device("auto").device, std::string("cpu"));
    QCOMPARE(select_device("").device, std::string("cpu"));
    QCOMPARE(select_device("cpu").device, std::string("cpu"));
  }

  void askingForCudaWithoutAGpuSaysWhy() {
    if (cuda_available()) QSKIP("a CUDA device is present");
    for (const char* spec : {"cuda", "cuda:0", "cuda:3"}) {
      try {
        select_device(spec);
        QFAIL(qPrintable(QString("no error for ") + spec));
      } catch (const Error& e) {
        const std::string m = e.what();
        QVERIFY2(m.find(spec) != std::string::npos, m.c_str());
        const char* why = cuda_build_info().compiled ? "no CUDA device is present" : "CUDA is not compiled in";
        QVERIFY2(m.find(why) != std::string::npos, m.c_str());
        QVERIFY2(m.find("--device cpu") != std::string::npos, m.c_str());
      }
    }
  }

  void malformedDevicesAreRejected() {
    for (const char* spec : {"gpu", "cuda:x", "cuda:1x", "CPU"}) QVERIFY_THROWS_EXCEPTION(Error, select_device(spec));
  }
};

QTEST_GUILESS_MAIN(TestDevice)
#include "test_device.moc"
