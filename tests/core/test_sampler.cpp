// BatchSampler and validation windows: determinism, resumable state, and draws that follow h.
#include <QTemporaryDir>
#include <QtTest>
#include <numeric>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "souplab/error.h"
#include "tests/core/file_helpers.h"
#include "engine/core/sampler.h"

using namespace souplab;
using test_util::error_of;
namespace fs = std::filesystem;

namespace {

constexpr int kT = 16;
constexpr int kRow = kT + 1;

// Three domains whose bytes tell them apart: domain d holds only the letter 'a' + d (and the
// 0x0C document end markers), with a running digit so windows are distinguishable.
std::shared_ptr<const TokenCache> make_cache(const QTemporaryDir& tmp) {
  const std::string c = tmp.filePath("corpus").toStdString();
  for (int d = 0; d < 3; ++d) {
    const std::string name(1, char('a' + d));
    fs::create_directories(c + "/" + name);
    std::ofstream out(c + "/" + name + "/data.txt", std::ios::binary);
    for (int doc = 0; doc < 40; ++doc) {
      for (int i = 0; i < 50; ++i) out << name << char('0' + (i + doc) % 10);
      out << "\n\f\n";
    }
  }
  CorpusOptions o;
  o.cache_dir = tmp.filePath("cache").toStdString();
  o.min_val_tokens = 500;
  o.min_domain_tokens = kRow;
  return TokenCache::open(c, o);
}

std::vector<uint8_t> batch(BatchSampler& s, const std::vector<double>& h, int b,
                           std::vector<int>* domains = nullptr) {
  std::vector<uint8_t> tokens(size_t(b) * kRow);
  s.sample_batch(h, b, tokens.data(), domains);
  return tokens;
}

bool contains(const uint8_t* hay, uint64_t n, const uint8_t* needle, size_t m) {
  return std::search(hay, hay + n, needle, needle + m) != hay + n;
}

}  // namespace

class TestSampler : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { cache_ = make_cache(tmp_); }
  void sameSeedSameBatches();
  void stateRestoreContinuesIdentically();
  void rowsAreTrainingWindowsOfTheDrawnDomain();
  void domainsFollowH();
  void sampleHShapes();
  void priorWeightsTheDomains();
  void parseAndBadInput();
  void validationWindowsLieInsideTheSplit();

 private:
  QTemporaryDir tmp_;
  std::shared_ptr<const TokenCache> cache_;
};

void TestSampler::sameSeedSameBatches() {
  BatchSampler a(cache_, kT, 42), b(cache_, kT, 42), c(cache_, kT, 43);
  const std::vector<double> h = {0.3, 0.3, 0.4};
  for (int i = 0; i < 5; ++i) {
    QCOMPARE(a.sample_h(MetaDistribution::kSparseDirichlet, 2),
             b.sample_h(MetaDistribution::kSparseDirichlet, 2));
    QCOMPARE(batch(a, h, 8), batch(b, h, 8));
  }
  QVERIFY(batch(a, h, 8) != batch(c, h, 8));
}

void TestSampler::stateRestoreContinuesIdentically() {
  const std::vector<double> h = {0.5, 0.25, 0.25};
  BatchSampler a(cache_, kT, 7);
  for (int i = 0; i < 3; ++i) batch(a, h, 4);
  const std::string saved = a.state();
  std::vector<std::vector<uint8_t>> expected;
  std::vector<std::vector<double>> expected_h;
  for (int i = 0; i < 3; ++i) {
    expected_h.push_back(a.sample_h(MetaDistribution::kDirichlet, 3));
    expected.push_back(batch(a, h, 4));
  }
  BatchSampler resumed(cache_, kT, 999);
  resumed.set_state(saved);
  QCOMPARE(resumed.state(), saved);
  for (int i = 0; i < 3; ++i) {
    QCOMPARE(resumed.sample_h(MetaDistribution::kDirichlet, 3), expected_h[size_t(i)]);
    QCOMPARE(batch(resumed, h, 4), expected[size_t(i)]);
  }
  const std::string before = resumed.state();
  QVERIFY(error_of([&] { resumed.set_state("not a state"); }).find("malformed") != std::string::npos);
  QVERIFY(error_of([&] { resumed.set_state(""); }).find("malformed") != std::string::npos);
  QVERIFY(error_of([&] { resumed.set_state(saved + " 12 extra"); }).find("malformed") != std::string::npos);
  QCOMPARE(resumed.state(), before);  // a failed restore leaves the generator as it was
}

void TestSampler::rowsAreTrainingWindowsOfTheDrawnDomain() {
  BatchSampler s(cache_, kT, 1);
  std::vector<int> domains;
  auto tokens = batch(s, {1, 1, 1}, 64, &domains);
  QCOMPARE(domains.size(), size_t(64));
  for (int b = 0; b < 64; ++b) {
    const size_t d = size_t(domains[size_t(b)]);
    const uint8_t* row = tokens.data() + size_t(b) * kRow;
    QVERIFY(contains(cache_->train_tokens(d), cache_->domains()[d].train_tokens, row, kRow));
    for (int i = 0; i < kRow; ++i)
      QVERIFY(row[i] == 'a' + d || (row[i] >= '0' && row[i] <= '9') || row[i] == '\n' || row[i] == 0x0C);
  }
}

void TestSampler::domainsFollowH() {
  BatchSampler s(cache_, kT, 2024);
  std::vector<int> domains;
  batch(s, {0, 1, 0}, 500, &domains);
  QVERIFY(std::all_of(domains.begin(), domains.end(), [](int d) { return d == 1; }));

  const int n = 20000;
  auto tokens = batch(s, {0.8, 0.2, 0.0}, n, &domains);
  const double share0 = double(std::count(domains.begin(), domains.end(), 0)) / n;
  QVERIFY2(std::abs(share0 - 0.8) < 0.015, std::to_string(share0).c_str());
  QCOMPARE(std::count(domains.begin(), domains.end(), 2), 0L);
  QVERIFY(std::find(tokens.begin(), tokens.end(), uint8_t('c')) == tokens.end());
  // Unnormalised weights mean the same mixture.
  batch(s, {4, 1, 0}, n, &domains);
  const double share_unnorm = double(std::count(domains.begin(), domains.end(), 0)) / n;
  QVERIFY2(std::abs(share_unnorm - 0.8) < 0.015, std::to_string(share_unnorm).c_str());
}

void TestSampler::sampleHShapes() {
  BatchSampler s(cache_, kT, 5);
  std::vector<int> support_seen(4, 0);
  for (int i = 0; i < 3000; ++i) {
    auto h = s.sample_h(MetaDistribution::kSparseDirichlet, 2);
    QCOMPARE(h.size(), size_t(3));
    double sum = 0;
    int support = 0;
    for (double x : h) {
      QVERIFY(x >= 0);
      sum += x;
      support += x > 0;
    }
    QVERIFY(std::abs(sum - 1) < 1e-12);
    QVERIFY(support >= 1 && support <= 2);
    ++support_seen[size_t(support)];
  }
  QVERIFY(support_seen[1] > 1200 && support_seen[2] > 1200);  // s ~ U{1, 2}
  for (int i = 0; i < 200; ++i) {  // s_max above k is capped at k
    auto h = s.sample_h(MetaDistribution::kSparseDirichlet, 10);
    QVERIFY(std::count_if(h.begin(), h.end(), [](double x) { return x > 0; }) <= 3);
  }
  std::vector<double> mean(3, 0.0);
  for (int i = 0; i < 3000; ++i) {
    auto h = s.sample_h(MetaDistribution::kDirichlet, 1);
    double sum = 0;
    for (size_t j = 0; j < 3; ++j) {
      QVERIFY(h[j] > 0);
      sum += h[j];
      mean[j] += h[j] / 3000;
    }
    QVERIFY(std::abs(sum - 1) < 1e-12);
  }
  for (double m : mean) QVERIFY2(std::abs(m - 1.0 / 3) < 0.03, std::to_string(m).c_str());
  std::vector<int> hot(3, 0);
  for (int i = 0; i < 3000; ++i) {
    auto h = s.sample_h(MetaDistribution::kOneHot, 1);
    QCOMPARE(std::count(h.begin(), h.end(), 1.0), 1L);
    QCOMPARE(std::count(h.begin(), h.end(), 0.0), 2L);
    ++hot[size_t(std::max_element(h.begin(), h.end()) - h.begin())];
  }
  for (int c : hot) QVERIFY(c > 850);
  QVERIFY(error_of([&] { s.sample_h(MetaDistribution::kSparseDirichlet, 0); }).find("support_max") !=
          std::string::npos);
}

// train.domain_prior "size": h picks its domains in proportion to the prior. One-hot h land on
// a domain as often as its weight says; a sparse h's support holds the heavy domain far more
// often; a domain of weight 0 is never picked; the empty prior is the uniform draw, bit for bit.
void TestSampler::priorWeightsTheDomains() {
  const std::vector<double> prior = {0.8, 0.2, 0.0};
  BatchSampler s(cache_, kT, 11);
  std::vector<int> hot(3, 0), in_support(3, 0);
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const auto h = s.sample_h(MetaDistribution::kOneHot, 1, prior);
    ++hot[size_t(std::max_element(h.begin(), h.end()) - h.begin())];
    const auto sparse = s.sample_h(MetaDistribution::kSparseDirichlet, 1, prior);
    for (size_t d = 0; d < 3; ++d) in_support[d] += sparse[d] > 0;
    const auto both = s.sample_h(MetaDistribution::kSparseDirichlet, 4, prior);
    QCOMPARE(both[2], 0.0);
    QVERIFY(std::abs(std::accumulate(both.begin(), both.end(), 0.0) - 1) < 1e-12);
  }
  // Binomial(4000, 0.8): sd ~25; 4 sd either side.
  QVERIFY2(std::abs(hot[0] - 0.8 * n) < 100, qPrintable(QString::number(hot[0])));
  QCOMPARE(hot[2], 0);
  QVERIFY2(std::abs(in_support[0] - 0.8 * n) < 100, qPrintable(QString::number(in_support[0])));
  QCOMPARE(in_support[2], 0);
  BatchSampler a(cache_, kT, 3), b(cache_, kT, 3);
  for (int i = 0; i < 50; ++i)
    QVERIFY(a.sample_h(MetaDistribution::kSparseDirichlet, 4) == b.sample_h(MetaDistribution::kSparseDirichlet, 4, {}));
  QVERIFY(error_of([&] { s.sample_h(MetaDistribution::kOneHot, 1, {1.0}); }).find("prior") != std::string::npos);
}

void TestSampler::parseAndBadInput() {
  QVERIFY(parse_meta_distribution("sparse_dirichlet") == MetaDistribution::kSparseDirichlet);
  QVERIFY(parse_meta_distribution("dirichlet") == MetaDistribution::kDirichlet);
  QVERIFY(parse_meta_distribution("onehot") == MetaDistribution::kOneHot);
  QVERIFY(error_of([] { parse_meta_distribution("uniform"); }).find("\"uniform\"") != std::string::npos);
  BatchSampler s(cache_, kT, 1);
  QVERIFY(error_of([&] { batch(s, {1, 0}, 2); }).find("2 entries") != std::string::npos);
  QVERIFY(error_of([&] { batch(s, {1, -0.5, 0}, 2); }).find("h[1]") != std::string::npos);
  QVERIFY(error_of([&] { batch(s, {0, 0, 0}, 2); }).find("sum to 0") != std::string::npos);
  const int huge = int(cache_->domains()[0].train_tokens);
  QVERIFY(error_of([&] { BatchSampler(cache_, huge, 1); }).find("\"a\"") != std::string::npos);
  BatchSampler edge(cache_, huge - 1, 1);  // a window exactly the size of the split
  std::vector<uint8_t> row(static_cast<size_t>(huge), 0);
  edge.sample_batch({1, 0, 0}, 1, row.data());
  QCOMPARE(std::memcmp(row.data(), cache_->train_tokens(0), row.size()), 0);
}

void TestSampler::validationWindowsLieInsideTheSplit() {
  for (size_t d = 0; d < cache_->num_domains(); ++d) {
    const uint64_t v = cache_->domains()[d].val_tokens;
    const uint8_t* val = cache_->val_tokens(d);
    std::vector<uint8_t> out = {7};  // appended to, not replaced
    const size_t n = validation_windows(*cache_, d, kT, 8, &out);
    QCOMPARE(n, size_t(std::min<uint64_t>(8, v / kRow)));
    QVERIFY(n >= 2);
    QCOMPARE(out.size(), 1 + n * kRow);
    QCOMPARE(std::memcmp(out.data() + 1, val, kRow), 0);                        // first at 0
    QCOMPARE(std::memcmp(out.data() + 1 + (n - 1) * kRow, val + v - kRow, kRow), 0);  // last at the end
    for (size_t i = 0; i < n; ++i)
      QVERIFY(contains(val, v, out.data() + 1 + i * kRow, kRow));
    std::vector<uint8_t> again;
    validation_windows(*cache_, d, kT, 8, &again);
    QVERIFY(std::equal(again.begin(), again.end(), out.begin() + 1));
    // More windows asked than fit: as many non-overlapping windows as the split holds.
    std::vector<uint8_t> all;
    QCOMPARE(validation_windows(*cache_, d, kT, 1 << 20, &all), size_t(v / kRow));
  }
  std::vector<uint8_t> none;
  QCOMPARE(validation_windows(*cache_, 0, 1 << 20, 4, &none), size_t(0));
  QVERIFY(none.empty());
}

QTEST_APPLESS_MAIN(TestSampler)
#include "test_sampler.moc"
