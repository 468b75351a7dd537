// The explorer's error bars: the paired estimate of a difference is the mean and standard error
// of the per-window differences, far tighter than either model's own when windows differ in
// difficulty; a weighted sum's SE adds variances.
#include <QtTest>

#include <cmath>
#include <random>

#include "souplab/loss_estimate.h"

using namespace souplab;

class TestLossEstimate : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void pairingCancelsWindowDifficulty() {
    // Windows of very different difficulty; the model is better by ~0.05 on every one of them.
    std::mt19937_64 rng(3);
    std::normal_distribution<double> difficulty(2.0, 0.5), noise(0.0, 0.01);
    std::vector<double> ref, mine;
    for (int i = 0; i < 40; ++i) {
      const double d = difficulty(rng);
      ref.push_back(d);
      mine.push_back(d - 0.05 + noise(rng));
    }
    const PairedEstimate e = paired_estimate(mine, ref);
    QCOMPARE(e.windows, 40);
    // The definition, computed here the long way.
    double m = 0, r = 0;
    for (int i = 0; i < 40; ++i) m += mine[size_t(i)] / 40, r += ref[size_t(i)] / 40;
    double ss = 0;
    for (int i = 0; i < 40; ++i) ss += std::pow(mine[size_t(i)] - ref[size_t(i)] - (m - r), 2);
    QVERIFY(std::abs(e.mine - m) < 1e-12 && std::abs(e.reference - r) < 1e-12);
    QVERIFY(std::abs(e.diff - (m - r)) < 1e-12);
    QVERIFY(std::abs(e.diff_se - std::sqrt(ss / 39 / 40)) < 1e-12);
    // The difference is resolved (|diff| >> SE) although each model's own SE is ~0.08.
    QVERIFY2(e.mine_se > 10 * e.diff_se, qPrintable(QString("%1 vs %2").arg(e.mine_se).arg(e.diff_se)));
    QVERIFY(std::abs(e.diff) > 5 * e.diff_se);
  }

  void fewWindowsHaveNoSpread() {
    const PairedEstimate one = paired_estimate({2.0}, {2.1});
    QCOMPARE(one.windows, 1);
    QVERIFY(std::isnan(one.diff_se) && std::isnan(one.mine_se));
    QVERIFY(std::abs(one.diff + 0.1) < 1e-12);
    const PairedEstimate none = paired_estimate({}, {1.0});
    QCOMPARE(none.windows, 0);
    QVERIFY(std::isnan(none.mine));
    // Only the windows both have are paired.
    QCOMPARE(paired_estimate({1, 2, 3}, {1, 2}).windows, 2);
  }

  void weightedSumAddsVariances() {
    QVERIFY(std::abs(weighted_se({0.5, 0.5}, {0.02, 0.04}) - std::sqrt(0.25 * 4e-4 + 0.25 * 1.6e-3)) < 1e-15);
    // A domain with no weight does not count, even when its SE is unknown.
    QCOMPARE(weighted_se({1.0, 0.0}, {0.03, std::nan("")}), 0.03);
    QVERIFY(std::isnan(weighted_se({0.5, 0.5}, {0.03, std::nan("")})));
  }
};

QTEST_APPLESS_MAIN(TestLossEstimate)
#include "test_loss_estimate.moc"
