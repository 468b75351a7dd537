#pragma once
// PRAGMA integrity_check of a run log, opened read-only with SQLite itself rather than through
// souplab::RunLog (whose constructor may migrate and so write): the reliability tests' check that
// a run log came through intact. The test links SQLite (souplab_core does, privately).
#include <sqlite3.h>

#include <QFile>
#include <QString>

namespace souplab::test {

// "ok" when SQLite finds the file sound; otherwise its first complaint, or why it could not look.
inline QString runLogIntegrityCheck(const QString& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(QFile::encodeName(path).constData(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const QString why = db ? QString::fromUtf8(sqlite3_errmsg(db)) : QStringLiteral("out of memory");
    sqlite3_close(db);
    return QStringLiteral("cannot open %1: %2").arg(path, why);
  }
  QString result;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK)
    result = QStringLiteral("cannot check %1: %2").arg(path, QString::fromUtf8(sqlite3_errmsg(db)));
  else if (sqlite3_step(st) == SQLITE_ROW)
    result = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  else
    result = QStringLiteral("integrity_check of %1 gave no row: %2").arg(path, QString::fromUtf8(sqlite3_errmsg(db)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result;
}

}  // namespace souplab::test
