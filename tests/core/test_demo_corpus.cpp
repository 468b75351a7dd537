// The demo corpus built from text that Debian packages install, on this machine and on a fake tree.
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "souplab/corpus.h"
#include "souplab/demo_corpus.h"
#include "souplab/error.h"
#include "tests/core/file_helpers.h"

using namespace souplab;
using test_util::write;
using test_util::read_all;
namespace fs = std::filesystem;

namespace {

const DemoDomainReport* find(const DemoCorpusReport& r, const std::string& name) {
  for (const auto& d : r.domains)
    if (d.name == name) return &d;
  return nullptr;
}

std::string lines(const std::string& word, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += word + " " + std::to_string(i) + "\n";
  return s;
}

}  // namespace

class TestDemoCorpus : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void buildsFromThisSystem();
  void fakeTreeSelectsSkipsAndReplaces();
  void tooFewDomainsIsAnError();
};

void TestDemoCorpus::buildsFromThisSystem() {
  QTemporaryDir tmp;
  const std::string out = tmp.filePath("demo").toStdString();
  DemoCorpusOptions o;
  o.max_bytes_per_domain = 128 << 10;
  o.max_bytes_per_file = 32 << 10;
  o.min_bytes_per_domain = 16 << 10;
  const DemoCorpusReport r = build_demo_corpus(out, o);
  for (const auto& d : r.domains)
    qInfo("%-14s %s %6llu docs %8llu bytes", d.name.c_str(), d.kept ? "kept   " : "dropped",
          (unsigned long long)d.documents, (unsigned long long)d.bytes);
  for (const auto& n : r.notes) qInfo("note: %s", n.c_str());
  QVERIFY(r.kept_domains() >= 2);
  QVERIFY(fs::exists(out + "/README.txt"));
  CorpusOptions co;
  co.cache_dir = tmp.filePath("cache").toStdString();
  co.min_val_tokens = 1024;
  auto cache = TokenCache::open(out, co);
  QCOMPARE(cache->num_domains(), r.kept_domains());
  for (size_t i = 0; i < cache->num_domains(); ++i) {
    const DemoDomainReport* d = find(r, cache->domains()[i].name);
    QVERIFY(d && d->kept);
    QVERIFY(d->bytes <= o.max_bytes_per_domain);
    QCOMPARE(cache->domains()[i].documents, d->documents);
    QCOMPARE(cache->domains()[i].train_tokens + cache->domains()[i].val_tokens, d->bytes + d->documents);
  }
}

void TestDemoCorpus::fakeTreeSelectsSkipsAndReplaces() {
  QTemporaryDir tmp;
  const std::string root = tmp.filePath("root").toStdString();
  write(root + "/usr/share/common-licenses/GPL-3", lines("licence", 200));
  write(root + "/usr/share/common-licenses/Apache-2.0", lines("apache", 200));
  fs::create_symlink("GPL-3", root + "/usr/share/common-licenses/GPL");  // a duplicate: skipped
  write(root + "/usr/share/doc/pkg/copyright", lines("copyright", 10));
  write(root + "/usr/include/stdio.h", lines("int printf", 300));
  write(root + "/usr/include/blob.h", std::string("binary\0data", 11));
  write(root + "/usr/lib/python3.9/old.py", lines("old", 300));
  write(root + "/usr/lib/x86_64-linux-gnu/perl-base/strict.pm", lines("use strict", 100));
  fs::create_directories(root + "/usr/lib/zzz");  // sorts higher, but holds no perl-base
  write(root + "/usr/lib/python3.11/new.py", lines("new", 300));
  write(root + "/usr/bin/script", "#!/bin/sh\n" + lines("echo", 300));
  write(root + "/usr/bin/tool", "#!/usr/bin/python3\n" + lines("print", 300));
  write(root + "/usr/share/games/fortunes/wisdom", "Be wise.\n%\nBe kind.\n%\n");
  write(root + "/usr/share/games/fortunes/wisdom.dat", std::string("\0\0\0\2", 4));

  const std::string out = tmp.filePath("demo").toStdString();
  write(out + "/stale/data.txt", "an older corpus in the way\n");
  DemoCorpusOptions o;
  o.source_root = root;
  o.min_bytes_per_domain = 16;
  o.max_bytes_per_file = 1000;  // files are cut at a line end
  o.max_bytes_per_domain = 1 << 20;
  const DemoCorpusReport r = build_demo_corpus(out, o);

  QVERIFY(!fs::exists(out + "/stale"));  // replaced as a whole
  for (const auto& e : fs::directory_iterator(tmp.path().toStdString()))
    QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().c_str());
  const DemoDomainReport* lic = find(r, "licenses");
  QVERIFY(lic && lic->kept);
  QCOMPARE(lic->documents, uint64_t(3));  // Apache-2.0, GPL-3, copyright; not the GPL link
  const std::string lic_text = read_all(out + "/licenses/data.txt");
  QVERIFY(lic_text.rfind("apache 0\n", 0) == 0);  // sorted order
  const DemoDomainReport* c = find(r, "code_c");
  QVERIFY(c && c->kept);
  QCOMPARE(c->skipped_binary, uint64_t(1));
  QCOMPARE(c->documents, uint64_t(1));
  QVERIFY(c->bytes <= 1000);
  QCOMPARE(read_all(out + "/code_c/data.txt").substr(c->bytes), std::string("\f\n"));
  QVERIFY(read_all(out + "/code_python/data.txt").rfind("new 0\n", 0) == 0);  // python3.11, not 3.9
  const DemoDomainReport* sh = find(r, "shell_scripts");
  QVERIFY(sh && sh->kept);
  QCOMPARE(sh->documents, uint64_t(1));
  QCOMPARE(read_all(out + "/fortunes_en/data.txt"), std::string("Be wise.\n\f\nBe kind.\n\f\n"));
  QVERIFY(!find(r, "code_cmake")->kept);
  QCOMPARE(find(r, "code_perl")->documents, uint64_t(1));
  QVERIFY(!r.notes.empty());

  CorpusOptions co;
  co.cache_dir = tmp.filePath("cache").toStdString();
  co.min_val_tokens = 0;
  co.min_domain_tokens = 1;
  auto cache = TokenCache::open(out, co);
  QCOMPARE(cache->num_domains(), r.kept_domains());
  QCOMPARE(cache->domain_names(), (std::vector<std::string>{"code_c", "code_perl", "code_python",
                                                            "fortunes_en", "licenses",
                                                            "shell_scripts"}));
  QCOMPARE(cache->domains()[3].documents, uint64_t(2));  // one per fortune
}

void TestDemoCorpus::tooFewDomainsIsAnError() {
  QTemporaryDir tmp;
  const std::string root = tmp.filePath("root").toStdString();
  write(root + "/usr/include/stdio.h", lines("int printf", 300));
  const std::string out = tmp.filePath("demo").toStdString();
  DemoCorpusOptions o;
  o.source_root = root;
  o.min_bytes_per_domain = 16;
  std::string e;
  try {
    build_demo_corpus(out, o);
  } catch (const Error& err) {
    e = err.what();
  }
  QVERIFY2(e.find(out) != std::string::npos && e.find("only 1 domain") != std::string::npos, e.c_str());
  QVERIFY(!fs::exists(out));
  for (const auto& entry : fs::directory_iterator(tmp.path().toStdString()))
    QCOMPARE(entry.path().filename().string(), std::string("root"));
}

QTEST_APPLESS_MAIN(TestDemoCorpus)
#include "test_demo_corpus.moc"
