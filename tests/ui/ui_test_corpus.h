#pragma once
// A small corpus of clearly different domains for GUI tests that train for real: three domain
// folders (English prose, C-like code, number tables), each over 40 KB, written in `dir`.
#include <QDir>
#include <QFile>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace souplab::test {

// Points this process's data and cache folders (run log, corpus caches) into `tmp`, so that no
// test reads or writes the user's.
inline void isolateIn(const QTemporaryDir& tmp) {
  qputenv("SOUPLAB_DATA_DIR", QFile::encodeName(tmp.filePath("data")));
  qputenv("SOUPLAB_CACHE_DIR", QFile::encodeName(tmp.filePath("cache")));
}

inline QString writeUiTestCorpus(const QString& dir, int bytesPerDomain = 48 * 1024) {
  const QStringList words = {"the", "garden", "river", "quiet", "morning", "letter", "walked",
                             "under", "bright", "old", "house", "she", "said", "and", "of"};
  auto prose = [&](int i) {
    return words[(i * 7) % words.size()] + ' ' + words[(i * 3 + 1) % words.size()] + ' ' +
           words[(i * 5 + 2) % words.size()] + (i % 6 == 5 ? ".\n" : " ");
  };
  auto code = [](int i) {
    return QStringLiteral("int f%1(int x) { return x * %2 + %3; }\n").arg(i % 97).arg(i % 13).arg(i % 7);
  };
  auto numbers = [](int i) {
    return QStringLiteral("%1\t%2\t%3\n").arg(i).arg(i * i % 1009).arg((i * 31) % 257);
  };
  const QList<QPair<QString, std::function<QString(int)>>> domains = {
      {"prose", prose}, {"code", code}, {"numbers", numbers}};
  for (const auto& [name, make] : domains) {
    QDir(dir).mkpath(name);
    // Several documents per domain so the train/validation split has something to split.
    for (int doc = 0; doc < 4; ++doc) {
      QFile file(QDir(dir).filePath(QStringLiteral("%1/doc%2.txt").arg(name).arg(doc)));
      if (!file.open(QIODevice::WriteOnly)) return {};
      QByteArray text;
      for (int i = doc * 100000; text.size() < bytesPerDomain / 4 + 256; ++i)
        text += make(i).toUtf8();
      file.write(text);
    }
  }
  return dir;
}

}  // namespace souplab::test
