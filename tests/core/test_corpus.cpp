// TokenCache: tokenising a folder of domain folders into a memory-mapped, rebuilt-when-stale cache.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "souplab/corpus.h"
#include "souplab/error.h"
#include "tests/core/file_helpers.h"

using namespace souplab;
using test_util::write;
using test_util::read_all;
using test_util::error_of;
namespace fs = std::filesystem;

namespace {

// The documents of a split: its bytes cut at each 0x0C end marker.
std::vector<std::string> docs_of(const uint8_t* p, uint64_t n) {
  std::vector<std::string> docs;
  std::string cur;
  for (uint64_t i = 0; i < n; ++i) {
    if (p[i] == 0x0C) {
      docs.push_back(cur);
      cur.clear();
    } else {
      cur += char(p[i]);
    }
  }
  if (!cur.empty()) docs.push_back(cur + "<missing end marker>");
  return docs;
}

CorpusOptions small_options(const QTemporaryDir& tmp) {
  CorpusOptions o;
  o.cache_dir = tmp.filePath("cache").toStdString();
  o.min_val_tokens = 0;
  o.min_domain_tokens = 1;
  o.val_fraction = 0.25;
  return o;
}

}  // namespace

class TestCorpus : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void countsAndLayout();
  void splitIsDeterministicAndDisjoint();
  void minValTokensTopsUpButNeverTakesAll();
  void singleDocumentSplitsItsTail();
  void reopenDoesNotRebuildButChangeDoes();
  void errorsNameTheFolder();
  void openCacheDetectsDamage();
  void symlinkLoopDoesNotHang();
  void maxDomainBytesCaps();
  void sharedCorpus();
};

void TestCorpus::countsAndLayout() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  write(c + "/alpha/x.txt", "hello\n");
  write(c + "/alpha/sub/y.txt", "world!!\n");
  write(c + "/alpha/.hidden.txt", "ignored\n");
  write(c + "/alpha/.git/z.txt", "ignored\n");
  write(c + "/beta/data.txt", "doc one\n\f\ndoc two\n\f\n\f\ndoc three\r\n\f\r\nlast\n");
  write(c + "/beta/docs.tsv", "0\t0\t8\tignored\n");
  write(c + "/beta/data.txt.sha256", "ignored\n");
  write(c + "/README.md", "top-level files are not domains\n");
  auto cache = TokenCache::open(c, small_options(tmp));
  QCOMPARE(cache->num_domains(), size_t(2));
  QCOMPARE(cache->domain_names(), (std::vector<std::string>{"alpha", "beta"}));
  const std::vector<std::set<std::string>> expected = {
      {"hello\n", "world!!\n"}, {"doc one\n", "doc two\n", "doc three\r\n", "last\n"}};
  for (size_t d = 0; d < 2; ++d) {
    const DomainInfo& info = cache->domains()[d];
    QCOMPARE(info.documents, uint64_t(expected[d].size()));
    uint64_t bytes = 0;
    for (const auto& doc : expected[d]) bytes += doc.size() + 1;  // + end marker
    QCOMPARE(info.train_tokens + info.val_tokens, bytes);
    std::set<std::string> got;
    for (auto& s : docs_of(cache->train_tokens(d), info.train_tokens)) got.insert(s);
    for (auto& s : docs_of(cache->val_tokens(d), info.val_tokens)) got.insert(s);
    QCOMPARE(got, expected[d]);
  }
  QVERIFY(fs::exists(tmp.filePath("cache/manifest.json").toStdString()));
  QVERIFY(fs::exists(tmp.filePath("cache/beta.val.bin").toStdString()));
}

void TestCorpus::splitIsDeterministicAndDisjoint() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  for (const char* dom : {"a", "b"}) {
    std::string text;
    for (int i = 0; i < 400; ++i) text += std::string(dom) + " document " + std::to_string(i) + "\n\f\n";
    write(c + "/" + dom + "/data.txt", text);
  }
  CorpusOptions o = small_options(tmp);
  o.val_fraction = 0.1;
  auto first = TokenCache::open(c, o);
  o.cache_dir = tmp.filePath("cache2").toStdString();
  auto second = TokenCache::open(c, o);
  for (size_t d = 0; d < 2; ++d) {
    const DomainInfo& info = first->domains()[d];
    QCOMPARE(info.documents, uint64_t(400));
    auto train = docs_of(first->train_tokens(d), info.train_tokens);
    auto val = docs_of(first->val_tokens(d), info.val_tokens);
    QVERIFY2(val.size() >= 20 && val.size() <= 70, std::to_string(val.size()).c_str());
    std::set<std::string> all(train.begin(), train.end());
    for (auto& v : val) QVERIFY2(all.insert(v).second, ("in both splits: " + v).c_str());
    QCOMPARE(all.size(), size_t(400));
    // Spread over the domain, not one block at its end: some held-out document among the first 100.
    bool early = false;
    for (auto& v : val) early |= std::stoi(v.substr(11)) < 100;
    QVERIFY(early);
    QCOMPARE(second->domains()[d].val_tokens, info.val_tokens);
    QCOMPARE(std::memcmp(second->val_tokens(d), first->val_tokens(d), info.val_tokens), 0);
    QCOMPARE(std::memcmp(second->train_tokens(d), first->train_tokens(d), info.train_tokens), 0);
  }
}

void TestCorpus::minValTokensTopsUpButNeverTakesAll() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  for (int i = 0; i < 50; ++i) write(c + "/a/" + std::to_string(1000 + i) + ".txt", std::string(99, 'a'));
  for (int i = 0; i < 3; ++i) write(c + "/b/" + std::to_string(i) + ".txt", std::string(99, 'b'));
  CorpusOptions o = small_options(tmp);
  o.val_fraction = 0.0;
  o.min_val_tokens = 1000;  // ten documents of 100 tokens
  auto cache = TokenCache::open(c, o);
  QCOMPARE(cache->domains()[0].val_tokens, uint64_t(1000));
  QCOMPARE(cache->domains()[0].train_tokens, uint64_t(4000));
  QCOMPARE(cache->domains()[1].val_tokens, uint64_t(200));  // 2 of 3: one stays for training
  QCOMPARE(cache->domains()[1].train_tokens, uint64_t(100));
}

void TestCorpus::singleDocumentSplitsItsTail() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  std::string text;
  for (int i = 0; i < 1000; ++i) text += char('a' + i % 26);
  write(c + "/one/doc.txt", text);
  write(c + "/two/doc.txt", text.substr(0, 10));
  CorpusOptions o = small_options(tmp);
  o.val_fraction = 0.0;
  o.min_val_tokens = 101;
  auto cache = TokenCache::open(c, o);
  QCOMPARE(cache->domains()[0].val_tokens, uint64_t(101));  // 100-byte tail + end marker
  QCOMPARE(cache->domains()[0].train_tokens, uint64_t(901));
  QCOMPARE(std::string((const char*)cache->val_tokens(0), 100), text.substr(900));
  QCOMPARE(std::string((const char*)cache->train_tokens(0), 900), text.substr(0, 900));
  QCOMPARE(cache->domains()[1].val_tokens, uint64_t(6));  // at most half of a single document
}

void TestCorpus::reopenDoesNotRebuildButChangeDoes() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  write(c + "/a/1.txt", "first\n");
  write(c + "/b/1.txt", "second\n");
  int builds = 0;
  CorpusProgress count = [&](size_t i, size_t, const std::string&) { builds += i == 0; };
  CorpusOptions o = small_options(tmp);
  auto first = TokenCache::open(c, o, count);
  QCOMPARE(builds, 1);
  const std::string manifest = tmp.filePath("cache/manifest.json").toStdString();
  const auto stamp = fs::last_write_time(manifest);
  auto again = TokenCache::open(c, o, count);
  QCOMPARE(builds, 1);
  QCOMPARE(fs::last_write_time(manifest), stamp);
  QCOMPARE(again->content_hash(), first->content_hash());

  write(c + "/a/1.txt", "first, longer now\n");
  auto changed = TokenCache::open(c, o, count);
  QCOMPARE(builds, 2);
  QVERIFY(changed->content_hash() != first->content_hash());
  // One document: its tail is held out, so 18 bytes + two end markers.
  QCOMPARE(changed->domains()[0].train_tokens + changed->domains()[0].val_tokens, uint64_t(20));
  // The first cache's mapping still reads its own (replaced) files.
  QCOMPARE(first->domains()[0].train_tokens + first->domains()[0].val_tokens, uint64_t(8));

  o.max_domain_bytes = 5;  // an option that changes the contents also rebuilds
  TokenCache::open(c, o, count);
  QCOMPARE(builds, 3);
}

void TestCorpus::errorsNameTheFolder() {
  QTemporaryDir tmp;
  const std::string root = tmp.path().toStdString();
  CorpusOptions o = small_options(tmp);
  auto msg = [&](const std::string& corpus) { return error_of([&] { TokenCache::open(corpus, o); }); };

  std::string e = msg(root + "/missing");
  QVERIFY2(e.find(root + "/missing") != std::string::npos && e.find("does not exist") != std::string::npos, e.c_str());
  write(root + "/file.txt", "x");
  e = msg(root + "/file.txt");
  QVERIFY2(e.find(root + "/file.txt") != std::string::npos && e.find("not a folder") != std::string::npos, e.c_str());

  write(root + "/one/a/1.txt", "text\n");
  e = msg(root + "/one");
  QVERIFY2(e.find(root + "/one") != std::string::npos && e.find("at least 2") != std::string::npos, e.c_str());

  write(root + "/nofiles/a/1.txt", "text\n");
  fs::create_directories(root + "/nofiles/b/sub");
  e = msg(root + "/nofiles");
  QVERIFY2(e.find(root + "/nofiles/b") != std::string::npos && e.find("no text files") != std::string::npos, e.c_str());

  write(root + "/empty/a/1.txt", "text\n");
  write(root + "/empty/b/1.txt", "");
  e = msg(root + "/empty");
  QVERIFY2(e.find(root + "/empty/b") != std::string::npos && e.find("no text") != std::string::npos, e.c_str());

  write(root + "/small/a/1.txt", std::string(100, 'a'));
  write(root + "/small/b/1.txt", std::string(100, 'b'));
  o.min_domain_tokens = 300;
  e = msg(root + "/small");
  QVERIFY2(e.find(root + "/small/a") != std::string::npos && e.find("too small") != std::string::npos, e.c_str());
  o.min_domain_tokens = 1;

  if (::geteuid() != 0) {  // root reads anything: the check needs an ordinary user
    write(root + "/locked/a/1.txt", "text\n");
    write(root + "/locked/b/1.txt", "text\n");
    fs::permissions(root + "/locked/b/1.txt", fs::perms::none);
    e = msg(root + "/locked");
    QVERIFY2(e.find(root + "/locked/b/1.txt") != std::string::npos, e.c_str());
  }
}

void TestCorpus::openCacheDetectsDamage() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  write(c + "/a/1.txt", "first document\n");
  write(c + "/b/1.txt", "second document\n");
  CorpusOptions o = small_options(tmp);
  const std::string cache_dir = o.cache_dir;
  auto built = TokenCache::open(c, o);
  auto opened = TokenCache::open_cache(cache_dir);
  QCOMPARE(opened->domain_names(), built->domain_names());
  QCOMPARE(opened->corpus_dir(), fs::canonical(c).string());

  const std::string bin = cache_dir + "/b.train.bin";
  const std::string saved = read_all(bin);
  write(bin, saved.substr(0, saved.size() - 1));
  std::string e = error_of([&] { TokenCache::open_cache(cache_dir); });
  QVERIFY2(e.find(bin) != std::string::npos, e.c_str());

  const std::string manifest = cache_dir + "/manifest.json";
  const std::string good = read_all(manifest);
  write(manifest, good.substr(0, good.size() / 2));
  e = error_of([&] { TokenCache::open_cache(cache_dir); });
  QVERIFY2(e.find(manifest) != std::string::npos && e.find("corrupt") != std::string::npos, e.c_str());
  e = error_of([&] { TokenCache::open_cache(tmp.filePath("nowhere").toStdString()); });
  QVERIFY2(e.find("nowhere/manifest.json") != std::string::npos, e.c_str());

  // open() treats a damaged cache as stale and rebuilds it.
  auto rebuilt = TokenCache::open(c, o);
  QCOMPARE(rebuilt->domains()[1].train_tokens + rebuilt->domains()[1].val_tokens, uint64_t(18));
  QCOMPARE(read_all(bin).size(), size_t(rebuilt->domains()[1].train_tokens));
}

void TestCorpus::symlinkLoopDoesNotHang() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  write(c + "/a/1.txt", "text a\n");
  write(c + "/b/1.txt", "text b\n");
  fs::create_directory_symlink(c + "/a", c + "/a/loop");
  fs::create_directory_symlink("..", c + "/b/up");
  auto cache = TokenCache::open(c, small_options(tmp));
  QCOMPARE(cache->domains()[0].documents, uint64_t(1));
  QCOMPARE(cache->domains()[1].documents, uint64_t(1));
}

void TestCorpus::maxDomainBytesCaps() {
  QTemporaryDir tmp;
  const std::string c = tmp.filePath("corpus").toStdString();
  for (int i = 0; i < 10; ++i) write(c + "/a/" + std::to_string(i) + ".txt", std::string(100, 'a'));
  write(c + "/b/big.txt", std::string(10000, 'b'));
  CorpusOptions o = small_options(tmp);
  o.max_domain_bytes = 250;
  auto cache = TokenCache::open(c, o);
  QCOMPARE(cache->domains()[0].documents, uint64_t(3));  // 100 + 100 + the first 50 of the third
  QCOMPARE(cache->domains()[0].train_tokens + cache->domains()[0].val_tokens, uint64_t(253));
  QCOMPARE(cache->domains()[1].train_tokens + cache->domains()[1].val_tokens, uint64_t(252));
}

void TestCorpus::sharedCorpus() {
  const QByteArray dir = qgetenv("SOUPLAB_SHARED_CORPUS");
  if (dir.isEmpty() || !fs::is_directory(dir.toStdString())) QSKIP("SOUPLAB_SHARED_CORPUS not available");
  QTemporaryDir tmp;
  CorpusOptions o;
  o.cache_dir = tmp.filePath("cache").toStdString();
  o.max_domain_bytes = 2u << 20;
  const auto t0 = std::chrono::steady_clock::now();
  auto cache = TokenCache::open(dir.toStdString(), o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  qInfo("tokenised %zu domains (2 MB cap) in %.2f s", cache->num_domains(), secs);
  QCOMPARE(cache->num_domains(), size_t(14));
  QCOMPARE(cache->domain_names().front(), std::string("bible_kjv"));
  for (size_t d = 0; d < cache->num_domains(); ++d) {
    const DomainInfo& info = cache->domains()[d];
    QVERIFY2(info.val_tokens >= o.min_val_tokens, info.name.c_str());
    QVERIFY(info.train_tokens > info.val_tokens);
    QVERIFY(info.documents > 1);
    // Form-feed separator lines never reach the tokens: a document's end marker is one 0x0C.
    const uint8_t* t = cache->train_tokens(d);
    QCOMPARE(int(t[info.train_tokens - 1]), 0x0C);
    for (uint64_t i = 1; i < std::min<uint64_t>(info.train_tokens, 100000); ++i)
      QVERIFY2(!(t[i] == '\n' && t[i - 1] == 0x0C), info.name.c_str());
  }
}

QTEST_APPLESS_MAIN(TestCorpus)
#include "test_corpus.moc"
