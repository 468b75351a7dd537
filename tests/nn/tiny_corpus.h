#pragma once
// Small real corpora for engine tests: a few domains cut from ../shared/corpus when it is there
// (CI has it), else from distinct kinds of text generated here, so the tests run anywhere.
#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace test_util {

inline void write_text(const QString& path, const std::string& text) {
  QDir().mkpath(QFileInfo(path).absolutePath());
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
  f.write(text.data(), qint64(text.size()));
}

// Synthetic but clearly different domains: each draws words from its own alphabet and style.
inline std::string synthetic_domain(int kind, size_t bytes, uint32_t seed) {
  static const char* kAlphabets[] = {"etaoinshrdlu", "{}();=+*&int", "ÄÖÜäöüßchtsn", "0123456789.,"};
  std::mt19937 rng(seed);
  const std::string alpha = kAlphabets[kind % 4];
  std::string out;
  while (out.size() < bytes) {
    const int len = 2 + int(rng() % 7);
    for (int i = 0; i < len; ++i) out += alpha[rng() % alpha.size()];
    out += (rng() % 9 == 0) ? "\n" : " ";
  }
  return out;
}

// Writes `domains` domain folders of about `bytes` bytes each under `root`; returns the names.
// Uses ../shared/corpus's first bytes of distinct domains when SOUPLAB_SHARED_CORPUS points at it.
inline std::vector<std::string> make_corpus(const QString& root, int domains, size_t bytes) {
  static const char* kShared[] = {"code_c", "manpages_de", "bible_kjv", "code_python"};
  const char* shared = std::getenv("SOUPLAB_SHARED_CORPUS");
  std::vector<std::string> names;
  for (int d = 0; d < domains; ++d) {
    std::string text;
    std::string name = "synthetic_" + std::to_string(d);
    if (shared && d < 4) {
      QFile f(QString(shared) + "/" + kShared[d] + "/data.txt");
      if (f.open(QIODevice::ReadOnly)) {
        QByteArray b = f.read(qint64(bytes));
        text.assign(b.constData(), size_t(b.size()));
        name = kShared[d];
      }
    }
    if (text.empty()) text = synthetic_domain(d, bytes, 17u + uint32_t(d));
    // Several documents per domain, so the train/validation split is by document.
    const size_t docs = 20, per = text.size() / docs;
    std::string joined;
    for (size_t i = 0; i < docs; ++i) joined += text.substr(i * per, per) + "\n\f\n";
    write_text(root + "/" + QString::fromStdString(name) + "/data.txt", joined);
    names.push_back(name);
  }
  return names;
}

// Points this process's cache and data folders into `tmp`, so that no test reads or writes the
// user's (corpus caches, the default run log).
inline void isolate_in(const QTemporaryDir& tmp) {
  qputenv("SOUPLAB_CACHE_DIR", tmp.filePath("cache").toUtf8());
  qputenv("SOUPLAB_DATA_DIR", tmp.filePath("data").toUtf8());
}

// The set-up most engine tests share: this process's data and caches in `tmp` (isolate_in) and
// a corpus of `domains` domains of about `bytes` bytes each in tmp/corpus, whose path it returns.
inline QString corpus_in(const QTemporaryDir& tmp, int domains, size_t bytes) {
  isolate_in(tmp);
  const QString corpus = tmp.filePath("corpus");
  make_corpus(corpus, domains, bytes);
  return corpus;
}

}  // namespace test_util
