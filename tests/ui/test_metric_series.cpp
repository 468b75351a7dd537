// Smoothing (debiased EMA) against hand computations, and min/max decimation bounds.
#include <QtTest>

#include <cmath>

#include "app/glue/metric_series.h"

using souplab::SeriesPoint;

class TestMetricSeries : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void emaDebiasedByHand() {
    // w = 0.5, y = 4, 8, 0:
    //  ema1 = 0.5*0 + 0.5*4 = 2;  debiased 2 / (1 - 0.5)   = 4
    //  ema2 = 0.5*2 + 0.5*8 = 5;  debiased 5 / (1 - 0.25)  = 6.6667
    //  ema3 = 0.5*5 + 0.5*0 = 2.5; debiased 2.5 / (1 - 0.125) = 2.857142...
    const auto out = souplab::debiased_ema({{1, 4}, {2, 8}, {3, 0}}, 0.5);
    QCOMPARE(out.size(), size_t(3));
    QVERIFY(std::abs(out[0].y - 4.0) < 1e-12);
    QVERIFY(std::abs(out[1].y - 20.0 / 3.0) < 1e-12);
    QVERIFY(std::abs(out[2].y - 2.5 / 0.875) < 1e-12);
    QCOMPARE(out[2].x, 3.0);
  }

  void emaConstantStaysConstant() {
    // Without debiasing the first values would be pulled towards 0; with it a constant is exact.
    std::vector<SeriesPoint> pts;
    for (int i = 0; i < 50; ++i) pts.push_back({double(i), 3.25});
    for (const SeriesPoint& p : souplab::debiased_ema(pts, 0.9)) QVERIFY(std::abs(p.y - 3.25) < 1e-9);
  }

  void emaZeroWeightIsIdentity() {
    const std::vector<SeriesPoint> pts = {{0, 1}, {1, 5}, {2, -2}};
    const auto out = souplab::debiased_ema(pts, 0.0);
    for (size_t i = 0; i < pts.size(); ++i) QCOMPARE(out[i].y, pts[i].y);
  }

  void emaSkipsNaN() {
    const auto out = souplab::debiased_ema({{0, 2}, {1, NAN}, {2, 2}}, 0.8);
    QVERIFY(std::isnan(out[1].y));
    QVERIFY(std::abs(out[2].y - 2.0) < 1e-12);
  }

  void decimationKeepsExtremesOfEachBucket() {
    std::vector<SeriesPoint> pts;
    for (int i = 0; i < 10000; ++i) pts.push_back({double(i), std::sin(i * 0.01)});
    pts[5003].y = 50;   // a spike must survive
    pts[7001].y = -50;  // and a dip
    const size_t buckets = 100;
    const auto out = souplab::decimate_min_max(pts, 0, 9999, buckets);
    QVERIFY(out.size() <= 2 * buckets);
    bool spike = false, dip = false;
    for (const SeriesPoint& p : out) {
      spike = spike || p.y == 50;
      dip = dip || p.y == -50;
    }
    QVERIFY(spike);
    QVERIFY(dip);
    // Every bucket: the kept points are exactly the bucket's min and max, at most 2 of them.
    const double width = 9999.0 / buckets;
    for (size_t b = 0; b < buckets; ++b) {
      double lo = INFINITY, hi = -INFINITY;
      for (const SeriesPoint& p : pts) {
        const size_t pb = std::min(buckets - 1, size_t(p.x / width));
        if (pb == b) { lo = std::min(lo, p.y); hi = std::max(hi, p.y); }
      }
      int kept = 0;
      bool hasLo = false, hasHi = false;
      for (const SeriesPoint& p : out) {
        if (std::min(buckets - 1, size_t(p.x / width)) != b) continue;
        ++kept;
        hasLo = hasLo || p.y == lo;
        hasHi = hasHi || p.y == hi;
      }
      QVERIFY2(kept <= 2, qPrintable(QStringLiteral("bucket %1 kept %2").arg(b).arg(kept)));
      QVERIFY(hasLo && hasHi);
    }
    // x order is preserved.
    for (size_t i = 1; i < out.size(); ++i) QVERIFY(out[i - 1].x <= out[i].x);
  }

  void decimationOfVisibleRangeAddsEdgeNeighbours() {
    std::vector<SeriesPoint> pts;
    for (int i = 0; i < 1000; ++i) pts.push_back({double(i), double(i % 17)});
    const auto out = souplab::decimate_min_max(pts, 200, 300, 10);
    QVERIFY(out.size() <= 2 * 10 + 2);
    QCOMPARE(out.front().x, 199.0);  // the neighbour just outside, so the line reaches the edge
    QCOMPARE(out.back().x, 301.0);
  }

  void smallSeriesUntouched() {
    const std::vector<SeriesPoint> pts = {{0, 1}, {1, 2}, {2, 3}};
    QCOMPARE(souplab::decimate_min_max(pts, 0, 2, 100).size(), size_t(3));
    souplab::MetricSeries s;
    for (const auto& p : pts) s.append(p.x, p.y);
    QCOMPARE(s.view(0.0, 0, 2, 100).size(), size_t(3));
    QCOMPARE(s.size(), size_t(3));
  }
};

QTEST_GUILESS_MAIN(TestMetricSeries)
#include "test_metric_series.moc"
