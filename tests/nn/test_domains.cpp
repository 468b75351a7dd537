// Domains from raw text and a target's domain weights (docs/DESIGN.md §1.5): k-means over hashed n-gram
// TF-IDF recovers planted domains; the nearest-centroid histogram of a sample from one domain
// puts most weight on it; fitting h through a trained soup recovers a planted mixture better
// than uniform h, at a loss no higher than uniform h's.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <QDir>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>

#include "souplab/corpus.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "engine/core/raw_documents.h"
#include "souplab/corpus_cluster.h"
#include "souplab/target_weights.h"
#include "souplab/trainer.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

using namespace souplab;

namespace {

std::string read_all(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(path));
  const QByteArray b = f.readAll();
  return std::string(b.constData(), size_t(b.size()));
}

// The text of a corpus domain without its form-feed separator lines.
std::string domain_text(const QString& corpus, const std::string& name) {
  const std::string raw = read_all(corpus + "/" + QString::fromStdString(name) + "/data.txt");
  std::string out;
  for (char c : raw)
    if (c != '\f') out += c;
  return out;
}

template <class F>
QString error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

}  // namespace

class TestDomains : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_corpus;
  std::vector<std::string> m_names;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    test_util::isolate_in(m_tmp);
    m_corpus = m_tmp.filePath("corpus");
    m_names = test_util::make_corpus(m_corpus, 3, 60000);
    std::sort(m_names.begin(), m_names.end());  // the corpus's domain order (h's order)
  }

  // 3 sources x 40 documents, unlabeled (one folder per source only to score the result; the
  // clustering never sees the folders): files of one document and form-feed separated files.
  void clusteringRecoversPlantedDomains() {
    const QString raw = m_tmp.filePath("raw");
    for (int s = 0; s < 3; ++s) {
      std::string joined;
      for (int d = 0; d < 40; ++d) {
        const std::string doc = test_util::synthetic_domain(s, 600 + 40 * d, 1000u * uint32_t(s) + uint32_t(d));
        if (s == 2)
          joined += doc + "\n\f\n";
        else
          test_util::write_text(raw + QString("/source_%1/doc_%2.txt").arg(s).arg(d), doc);
      }
      if (s == 2) test_util::write_text(raw + "/source_2/all.txt", joined);
    }
    const QString out = m_tmp.filePath("clustered");
    ClusterOptions o;
    o.k = 3;
    o.seed = 7;
    o.dim = 2048;
    const ClusterReport r = cluster_corpus(raw.toStdString(), out.toStdString(), o);
    QCOMPARE(int(r.documents), 120);
    qInfo("purity %.3f, inverse purity %.3f, %.2f s", r.purity, r.inverse_purity, r.total_s);
    QVERIFY2(r.purity >= 0.95 && r.inverse_purity >= 0.95,
             qPrintable(QString("purity %1 / %2").arg(r.purity).arg(r.inverse_purity)));
    // The output is a corpus: one folder per cluster, readable names, 120 documents in all.
    std::set<std::string> names;
    uint64_t docs = 0;
    for (const auto& c : r.clusters) {
      QVERIFY2(!c.top_ngrams.empty(), c.name.c_str());
      names.insert(c.name);
      docs += c.documents;
      qInfo("%s: %llu docs, top %s", c.name.c_str(), (unsigned long long)c.documents, c.top_ngrams[0].c_str());
    }
    QCOMPARE(int(names.size()), 3);
    QCOMPARE(int(docs), 120);
    QVERIFY(QFile::exists(out + "/clusters.json"));
    QVERIFY(QFile::exists(out + "/centroids.safetensors"));
    CorpusOptions co;
    co.min_domain_tokens = 100;
    auto cache = TokenCache::open(out.toStdString(), co);
    QCOMPARE(int(cache->num_domains()), 3);
    uint64_t cached_docs = 0;
    for (const auto& d : cache->domains()) cached_docs += d.documents;
    QCOMPARE(int(cached_docs), 120);

    // Same seed, same clusters.
    o.overwrite = true;
    const ClusterReport again = cluster_corpus(raw.toStdString(), out.toStdString(), o);
    QVERIFY(again.assignment == r.assignment);

    // Errors name the folder.
    o.k = 121;
    QVERIFY(error_of([&] { cluster_corpus(raw.toStdString(), m_tmp.filePath("x").toStdString(), o); })
                .contains(raw));
    o.k = 3;
    o.overwrite = false;
    QVERIFY(error_of([&] { cluster_corpus(raw.toStdString(), out.toStdString(), o); }).contains("not empty"));
    const QString one = m_tmp.filePath("one");
    test_util::write_text(one + "/a.txt", "just one document");
    o.k = 2;
    QVERIFY(error_of([&] { cluster_corpus(one.toStdString(), m_tmp.filePath("y").toStdString(), o); })
                .contains("at least 2"));
    QVERIFY(error_of([&] { cluster_corpus(m_tmp.filePath("missing").toStdString(), m_tmp.filePath("z").toStdString(), o); })
                .contains("missing"));
    QVERIFY(error_of([&] { cluster_corpus(raw.toStdString(), (raw + "/inside").toStdString(), o); })
                .contains("inside"));
  }

  // A cluster under min_cluster_bytes (issue 34: k = 128 on the real corpus left a 1.4 KB one that
  // no bank can train on) is dissolved into its neighbours: every cluster written holds at least
  // that many bytes, no document is lost, and 0 keeps all k.
  void smallClustersAreDissolved() {
    const QString raw = m_tmp.filePath("raw-small");
    for (int s = 0; s < 3; ++s)
      for (int d = 0; d < 30; ++d)
        test_util::write_text(raw + QString("/source_%1/doc_%2.txt").arg(s).arg(d),
                              test_util::synthetic_domain(s, 900, 77u * uint32_t(s) + uint32_t(d)));
    ClusterOptions o;
    o.k = 6;
    o.seed = 11;
    o.dim = 1024;
    o.min_cluster_bytes = 0;
    const ClusterReport all = cluster_corpus(raw.toStdString(), m_tmp.filePath("small-all").toStdString(), o);
    QCOMPARE(int(all.clusters.size()), 6);
    QCOMPARE(all.dissolved, 0);
    uint64_t smallest = UINT64_MAX;
    for (const auto& c : all.clusters) smallest = std::min(smallest, c.bytes);
    o.min_cluster_bytes = 20000;  // ~27 KB per source: some of the 6 clusters fall under it
    QVERIFY2(smallest < o.min_cluster_bytes, qPrintable(QString::number(smallest)));
    const ClusterReport kept = cluster_corpus(raw.toStdString(), m_tmp.filePath("small-kept").toStdString(), o);
    QVERIFY(kept.dissolved > 0);
    QCOMPARE(int(kept.clusters.size()), 6 - kept.dissolved);
    uint64_t docs = 0;
    for (const auto& c : kept.clusters) {
      QVERIFY2(c.bytes >= o.min_cluster_bytes, qPrintable(QString("%1: %2 bytes").arg(c.name.c_str()).arg(c.bytes)));
      docs += c.documents;
    }
    QCOMPARE(int(docs), 90);
    QVERIFY(QDir(m_tmp.filePath("small-kept")).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() == int(kept.clusters.size()));
  }

  // Clusters are named by the words that set them apart: two sources of English-like text that
  // share their common words ("the", "and") and differ in their topics get names from their
  // topic words, each cluster only its own.
  void clustersAreNamedByTheirWords() {
    const QString raw = m_tmp.filePath("raw-words");
    const std::vector<std::vector<std::string>> topics = {{"garden", "river", "orchard"},
                                                          {"congress", "senate", "tariff"}};
    std::mt19937 rng(5);
    for (int s = 0; s < 2; ++s)
      for (int d = 0; d < 12; ++d) {
        std::string doc;
        while (doc.size() < 3000) {
          doc += (rng() % 2 ? "the " : "and ");
          doc += topics[size_t(s)][rng() % 3] + (rng() % 8 ? " " : ".\n");
        }
        test_util::write_text(raw + QString("/source_%1/doc_%2.txt").arg(s).arg(d), doc);
      }
    ClusterOptions o;
    o.k = 2;
    o.seed = 3;
    o.dim = 1024;
    const ClusterReport r = cluster_corpus(raw.toStdString(), m_tmp.filePath("named").toStdString(), o);
    QCOMPARE(int(r.clusters.size()), 2);
    std::set<int> named_after;
    for (const auto& c : r.clusters) {
      qInfo("%s", c.name.c_str());
      int topic = -1;
      for (int t = 0; t < 2; ++t)
        for (const auto& w : topics[size_t(t)])
          if (c.name.find(w) != std::string::npos) {
            QVERIFY2(topic == -1 || topic == t, c.name.c_str());  // never both topics' words
            topic = t;
          }
      QVERIFY2(topic >= 0, c.name.c_str());
      QVERIFY2(c.name.find("the") == std::string::npos && c.name.find("and") == std::string::npos, c.name.c_str());
      named_after.insert(topic);
    }
    QCOMPARE(int(named_after.size()), 2);  // one cluster per topic
  }

  // Clustering works on units of about unit_bytes: 300 one-line documents of one file are
  // grouped into a few units, two 40 KB documents are cut into ~4 KB pieces, and every piece
  // still lands in the output corpus as a document of its cluster.
  void unitsGroupShortAndCutLongDocuments() {
    const QString raw = m_tmp.filePath("raw_units");
    std::string tiny;
    for (int d = 0; d < 300; ++d) tiny += test_util::synthetic_domain(0, 30, 50u + uint32_t(d)) + "\n\f\n";
    test_util::write_text(raw + "/short/many.txt", tiny);
    for (int s = 1; s <= 2; ++s)
      test_util::write_text(raw + QString("/long_%1/one.txt").arg(s), test_util::synthetic_domain(s, 40000, 90u + uint32_t(s)));
    ClusterOptions o;
    o.k = 3;
    o.seed = 3;
    o.dim = 2048;
    o.unit_bytes = 4096;
    o.min_cluster_bytes = 0;  // the short source is 9 KB on purpose: kept as its own cluster
    const ClusterReport r = cluster_corpus(raw.toStdString(), m_tmp.filePath("units_out").toStdString(), o);
    QCOMPARE(int(r.documents), 302);
    QCOMPARE(r.unit_bytes.size(), r.units);
    size_t short_units = 0;
    for (size_t u = 0; u < r.units; ++u) {
      QVERIFY2(r.unit_bytes[u] <= 4096 + 1024 + 8, qPrintable(QString::number(r.unit_bytes[u])));
      short_units += r.unit_labels[u] == "short";
    }
    QVERIFY2(short_units >= 2 && short_units <= 6, qPrintable(QString::number(short_units)));
    QVERIFY2(r.units >= short_units + 16 && r.units <= short_units + 24, qPrintable(QString::number(r.units)));
    QVERIFY2(r.purity >= 0.95 && r.inverse_purity >= 0.95,
             qPrintable(QString("purity %1 / %2").arg(r.purity).arg(r.inverse_purity)));
    uint64_t docs = 0, bytes = 0;
    for (const auto& c : r.clusters) docs += c.documents, bytes += c.bytes;
    QCOMPARE(int(docs), 300 + int(r.units - short_units));  // tiny docs kept whole, long ones cut
    QVERIFY(bytes >= 80000 && bytes <= r.bytes);
    // Whole documents as units: the 300 tiny ones are 300 units.
    o.unit_bytes = 0;
    o.overwrite = true;
    const ClusterReport whole = cluster_corpus(raw.toStdString(), m_tmp.filePath("units_out").toStdString(), o);
    QCOMPARE(int(whole.units), 302);
  }

  void histogramOfOneDomainsSample() {
    auto cache = TokenCache::open(m_corpus.toStdString());
    for (size_t d = 0; d < m_names.size(); ++d) {
      // Text of domain d the centroids did not see when the shared corpus is there (past the
      // first 60 kB), else its own text cut differently.
      std::string text;
      if (const char* shared = std::getenv("SOUPLAB_SHARED_CORPUS"); shared && m_names[d].rfind("synthetic", 0) != 0) {
        QFile f(QString(shared) + "/" + QString::fromStdString(m_names[d]) + "/data.txt");
        if (f.open(QIODevice::ReadOnly) && f.seek(200000)) text = f.read(40000).toStdString();
      }
      if (text.empty()) text = domain_text(m_corpus, m_names[d]).substr(10000, 30000);
      const QString target = m_tmp.filePath(QString("target_%1.txt").arg(d));
      test_util::write_text(target, text);
      const TargetHistogram h = histogram_weights(*cache, target.toStdString());
      qInfo("%s: %.2f %.2f %.2f over %llu pieces", m_names[d].c_str(), h.weights[0], h.weights[1],
            h.weights[2], (unsigned long long)h.pieces);
      QVERIFY2(h.weights[d] >= 0.8, qPrintable(QString("domain %1 gets %2").arg(d).arg(h.weights[d])));
      QCOMPARE(h.centroids_reused, d > 0);  // computed once, then read from the cache folder
      QVERIFY(QString::fromStdString(h.centroids_path).startsWith(QString::fromStdString(cache->cache_dir())));
    }
    QVERIFY(error_of([&] { histogram_weights(*cache, m_tmp.filePath("nope.txt").toStdString()); })
                .contains("nope.txt"));
    test_util::write_text(m_tmp.filePath("empty.txt"), "");
    QVERIFY(error_of([&] { histogram_weights(*cache, m_tmp.filePath("empty.txt").toStdString()); })
                .contains("empty.txt"));
  }

  void fitRecoversPlantedMixture() {
    // 800 steps: the one-hot specialists must differ clearly for h to be recoverable.
    RunConfig c = test_util::tiny_run_config(m_corpus, m_tmp.filePath("run"), 800);
    c.train.eval_interval = c.train.checkpoint_interval = 800;
    auto trainer = Trainer::start_new(c, m_tmp.filePath("runs.sqlite").toStdString());
    trainer->run({});
    const std::string ckpt = trainer->last_checkpoint();

    // 80 % of domain 0's text, 20 % of domain 1's, in documents of 1 kB.
    const std::string a = domain_text(m_corpus, m_names[0]), b = domain_text(m_corpus, m_names[1]);
    std::string mixed;
    for (int i = 0; i < 40; ++i) {
      const std::string& src = (i % 5 == 4) ? b : a;
      mixed += src.substr(size_t(1000 * (i + 3)), 1000) + "\n\f\n";
    }
    const QString target = m_tmp.filePath("mixed.txt");
    test_util::write_text(target, mixed);
    FitOptions fo;
    fo.steps = 40;
    const auto bank = Model::load(ckpt, "cpu");  // fitted through the loaded model
    const FitResult r = bank->fit_weights(target.toStdString(), fo);
    QCOMPARE(r.h.names(), m_names);
    const std::vector<double> planted{0.8, 0.2, 0.0};
    double l1 = 0, l1_uniform = 0;
    for (size_t i = 0; i < 3; ++i) {
      l1 += std::abs(r.h[i] - planted[i]);
      l1_uniform += std::abs(1.0 / 3 - planted[i]);
    }
    qInfo("fitted h %.3f %.3f %.3f: L1 %.3f (uniform %.3f), loss %.4f (uniform %.4f), %.1f s",
          r.h[0], r.h[1], r.h[2], l1, l1_uniform, r.loss, r.uniform_loss, r.seconds);
    QCOMPARE(int(r.trace.size()), 40);
    QVERIFY2(l1 < l1_uniform, qPrintable(QString("L1 %1 vs uniform %2").arg(l1).arg(l1_uniform)));
    QVERIFY(r.loss <= r.uniform_loss);

    // Errors name the file.
    QVERIFY(error_of([&] { bank->fit_weights(m_tmp.filePath("nope.txt").toStdString(), fo); }).contains("nope.txt"));
    test_util::write_text(m_tmp.filePath("short.txt"), "abc");
    QVERIFY(error_of([&] { bank->fit_weights(m_tmp.filePath("short.txt").toStdString(), fo); }).contains("short.txt"));
    QVERIFY(error_of([&] { Model::load(target.toStdString(), "cpu")->fit_weights(target.toStdString(), fo); })
                .contains("mixed.txt"));
    // A model with no experts has no h to fit, and says so naming its file.
    RunConfig d = test_util::tiny_run_config(m_corpus, m_tmp.filePath("run-dense"), 2);
    d.train.kind = ModelKind::kDense;
    auto dense_trainer = Trainer::start_new(d, m_tmp.filePath("runs.sqlite").toStdString());
    dense_trainer->run({});
    const auto dense = Model::load(dense_trainer->last_checkpoint(), "cpu");
    QVERIFY(!dense->capabilities().can_fit_weights);
    QVERIFY(error_of([&] { dense->fit_weights(target.toStdString(), fo); })
                .contains(QString::fromStdString(dense_trainer->last_checkpoint())));
  }
};

QTEST_GUILESS_MAIN(TestDomains)
#include "test_domains.moc"
