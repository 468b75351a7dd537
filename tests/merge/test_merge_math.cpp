// The merge arithmetic against hand-computed results on crafted task vectors (TIES's trim, sign
// election and disjoint mean), DARE against an independent re-derivation of its documented mask,
// and the identities linear(x, x) = x and task arithmetic with lambda 0 = base.
#include <QtTest>

#include <cmath>
#include <vector>

#include "souplab/error.h"
#include "souplab/merge_math.h"

using namespace souplab;

namespace {

// Two tensors: "t0" of 4 entries and "t1" of 2, so TIES trims per tensor (k = 2 and k = 1).
ParamLayout two_tensor_layout() {
  ParamLayout l;
  ParamEntry a;
  a.name = "t0";
  a.shape = {4};
  a.offset = 0;
  a.numel = 4;
  ParamEntry b;
  b.name = "t1";
  b.shape = {2};
  b.offset = 4;
  b.numel = 2;
  l.entries = {a, b};
  l.total = 6;
  return l;
}

std::vector<float> plus(const std::vector<float>& base, const std::vector<float>& tau) {
  std::vector<float> out(base.size());
  for (size_t i = 0; i < base.size(); ++i) out[i] = base[i] + tau[i];
  return out;
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-6) {
  QCOMPARE(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (std::fabs(got[i] - want[i]) > tol)
      QFAIL(qPrintable(QString("entry %1: got %2, want %3").arg(i).arg(got[i], 0, 'g', 9).arg(want[i], 0, 'g', 9)));
}

// An independent copy of the documented DARE rule (not the engine's code).
uint64_t ref_splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
bool ref_keep(uint64_t seed, uint64_t model, int64_t entry, double density) {
  const uint64_t key = ref_splitmix(seed ^ ref_splitmix(model));
  return std::ldexp(double(ref_splitmix(key + uint64_t(entry)) >> 11), -53) < density;
}

const std::vector<float> kBase = {1, 1, 1, 1, 0, 0};
const std::vector<float> kTauA = {0.5f, -0.1f, 0.3f, -0.8f, 0.2f, -0.4f};
const std::vector<float> kTauB = {-0.2f, 0.6f, 0.1f, -0.4f, 0.3f, 0.1f};
const std::vector<float> kTauC = {-0.9f, 0.05f, -0.2f, 0.7f, -0.1f, -0.5f};

}  // namespace

class TestMergeMath : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void tiesTrimKeepsTopFractionPerTensor() {
    std::vector<float> t = {0.5f, -0.1f, 0.3f, -0.8f};
    ties_trim(t.data(), 4, 0.5);
    QCOMPARE(t, (std::vector<float>{0.5f, 0, 0, -0.8f}));
    // At least one entry survives even when density * n < 1; equal magnitudes: lower index wins.
    std::vector<float> u = {0.2f, -0.2f, 0.1f};
    ties_trim(u.data(), 3, 0.1);
    QCOMPARE(u, (std::vector<float>{0.2f, 0, 0}));
    std::vector<float> all = {1, 2};
    ties_trim(all.data(), 2, 1.0);
    QCOMPARE(all, (std::vector<float>{1, 2}));
  }

  void tiesEqualWeightsMatchesHandComputation() {
    const auto a = plus(kBase, kTauA), b = plus(kBase, kTauB), c = plus(kBase, kTauC);
    MergeParams p;
    p.method = MergeMethod::kTies;
    p.density = 0.5;
    const auto out = merge_thetas(two_tensor_layout(), {a.data(), b.data(), c.data()}, {1, 1, 1}, kBase.data(), p);
    // Trimmed: A [.5,0,0,-.8 | 0,-.4], B [0,.6,0,-.4 | .3,0], C [-.9,0,0,.7 | 0,-.5].
    // Elected signs (sum): - + (0 -> +) - | + -; disjoint means: -.9, .6, 0, (-.8-.4)/2, .3, (-.4-.5)/2.
    expect_near(out, {1 - 0.9, 1 + 0.6, 1, 1 - 0.6, 0.3, -0.45});
  }

  void tiesWeightsAndLambdaMatchHandComputation() {
    const auto a = plus(kBase, kTauA), b = plus(kBase, kTauB), c = plus(kBase, kTauC);
    MergeParams p;
    p.method = MergeMethod::kTies;
    p.density = 0.5;
    p.lambda = 0.5;
    const auto out =
        merge_thetas(two_tensor_layout(), {a.data(), b.data(), c.data()}, {1, 0.5, 2}, kBase.data(), p);
    // Weighted trimmed: A [.5,0,0,-.8 | 0,-.4], B [0,.3,0,-.2 | .15,0], C [-1.8,0,0,1.4 | 0,-1].
    // Entry 3 now elects + (-.8 - .2 + 1.4 = .4), so only C counts: 1.4 / 2 = .7.
    // Merged: -1.8/2, .3/.5, 0, 1.4/2, .15/.5, -1.4/3; times lambda .5 on the base.
    expect_near(out, {1 - 0.45, 1 + 0.3, 1, 1 + 0.35, 0.15, -0.7 / 3});
  }

  void dareMatchesIndependentMask() {
    ParamLayout l;
    ParamEntry e;
    e.name = "w";
    e.numel = 20000;
    e.shape = {e.numel};
    l.entries = {e};
    l.total = e.numel;
    std::vector<float> base(size_t(l.total)), x0(base.size()), x1(base.size());
    for (size_t j = 0; j < base.size(); ++j) {
      base[j] = float(std::sin(0.1 * double(j)));
      x0[j] = base[j] + float(std::cos(0.37 * double(j)));
      x1[j] = base[j] - 0.5f + float(j % 7) * 0.1f;
    }
    MergeParams p;
    p.method = MergeMethod::kDare;
    p.density = 0.3;
    p.seed = 7;
    p.lambda = 0.8;
    const std::vector<double> w = {0.6, 1.5};
    const auto out = merge_thetas(l, {x0.data(), x1.data()}, w, base.data(), p);
    int64_t kept = 0;
    std::vector<double> want(base.size());
    for (size_t j = 0; j < base.size(); ++j) {
      double sum = 0;
      const double tau[2] = {double(x0[j] - base[j]), double(x1[j] - base[j])};
      for (int i = 0; i < 2; ++i) {
        const bool keep = ref_keep(7, uint64_t(i), int64_t(j), 0.3);
        kept += keep;
        if (keep) sum += w[size_t(i)] * tau[i] / 0.3;
      }
      want[j] = base[j] + 0.8 * sum;
    }
    expect_near(out, want, 1e-5);
    // About `density` of the entries survive (40000 draws: sd of the fraction ~0.0023).
    QVERIFY(std::fabs(double(kept) / 40000.0 - 0.3) < 0.015);
    // Reproducible with the seed, different without it.
    QCOMPARE(merge_thetas(l, {x0.data(), x1.data()}, w, base.data(), p), out);
    p.seed = 8;
    QVERIFY(merge_thetas(l, {x0.data(), x1.data()}, w, base.data(), p) != out);
  }

  void dareTiesElectsSignsWithoutDividing() {
    const auto a = plus(kBase, kTauA), b = plus(kBase, kTauB);
    MergeParams p;
    p.method = MergeMethod::kDareTies;
    p.density = 0.5;
    p.seed = 3;
    const auto out = merge_thetas(two_tensor_layout(), {a.data(), b.data()}, {1, 2}, kBase.data(), p);
    const std::vector<float>* taus[2] = {&kTauA, &kTauB};
    const double w[2] = {1, 2};
    std::vector<double> want(6);
    for (int j = 0; j < 6; ++j) {
      double wd[2], total = 0;
      for (int i = 0; i < 2; ++i) {
        wd[i] = ref_keep(3, uint64_t(i), j, 0.5) ? w[i] * (*taus[i])[size_t(j)] / 0.5 : 0.0;
        total += wd[i];
      }
      const double sign = total >= 0 ? 1 : -1;
      double mixed = 0;
      for (double v : wd)
        if (v != 0 && (v > 0 ? 1 : -1) == sign) mixed += v;
      want[size_t(j)] = kBase[size_t(j)] + mixed;
    }
    expect_near(out, want);
  }

  void linearOfIdenticalModelsIsTheModel() {
    const auto a = plus(kBase, kTauC);
    MergeParams p;
    p.method = MergeMethod::kLinear;
    const auto out = merge_thetas(two_tensor_layout(), {a.data(), a.data(), a.data()}, {0.2, 3, 1}, nullptr, p);
    expect_near(out, std::vector<double>(a.begin(), a.end()), 1e-7);
    // Weights are normalised: (1 * A + 3 * B) / 4.
    const auto b = plus(kBase, kTauB);
    const auto mix = merge_thetas(two_tensor_layout(), {a.data(), b.data()}, {1, 3}, nullptr, p);
    for (size_t j = 0; j < 6; ++j) QVERIFY(std::fabs(mix[j] - (a[j] + 3.0 * b[j]) / 4.0) < 1e-6);
  }

  void taskArithmeticLambdaZeroIsBase() {
    const auto a = plus(kBase, kTauA), b = plus(kBase, kTauB);
    MergeParams p;
    p.method = MergeMethod::kTaskArithmetic;
    p.lambda = 0;
    QCOMPARE(merge_thetas(two_tensor_layout(), {a.data(), b.data()}, {1, 1}, kBase.data(), p), kBase);
    p.lambda = 1;
    const auto sum = merge_thetas(two_tensor_layout(), {a.data(), b.data()}, {1, -0.5}, kBase.data(), p);
    std::vector<double> want(6);
    for (size_t j = 0; j < 6; ++j) want[j] = kBase[j] + kTauA[j] - 0.5 * kTauB[j];
    expect_near(sum, want);
  }

  void badInputIsAnError() {
    const auto a = plus(kBase, kTauA);
    MergeParams p;
    p.method = MergeMethod::kTies;
    QVERIFY_THROWS_EXCEPTION(Error, merge_thetas(two_tensor_layout(), {a.data()}, {1}, nullptr, p));  // no base
    QVERIFY_THROWS_EXCEPTION(Error, merge_thetas(two_tensor_layout(), {a.data()}, {1, 2}, kBase.data(), p));
    p.density = 0;
    QVERIFY_THROWS_EXCEPTION(Error, merge_thetas(two_tensor_layout(), {a.data()}, {1}, kBase.data(), p));
    p.method = MergeMethod::kLinear;
    p.density = 0.5;
    QVERIFY_THROWS_EXCEPTION(Error, merge_thetas(two_tensor_layout(), {a.data(), a.data()}, {1, -1}, nullptr, p));
    MergeMethod m;
    QVERIFY(parse_merge_method("dare_ties", &m) && m == MergeMethod::kDareTies);
    QVERIFY(!parse_merge_method("slerp", &m));
  }
};

QTEST_GUILESS_MAIN(TestMergeMath)
#include "test_merge_math.moc"
