#include "engine/core/run_log_sqlite.h"

#include <cmath>
#include <limits>

#include "souplab/error.h"

namespace souplab::run_log_detail {

void throw_sqlite(sqlite3* db, const std::string& path, const std::string& what) {
  const char* msg = db ? sqlite3_errmsg(db) : "out of memory";
  throw file_error(path, what + ": " + (msg ? msg : "unknown SQLite error"));
}

void exec(sqlite3* db, const std::string& path, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    // sqlite3_exec's message is more precise than errmsg after a multi-statement script.
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw file_error(path, "run log: " + msg);
  }
}

Statement::Statement(sqlite3* db, const std::string& path, const char* sql, const char* what)
    : db_(db), path_(path) {
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw_sqlite(db_, path_, what);
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind_int(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK)
    throw_sqlite(db_, path_, "run log: bind");
  return *this;
}

Statement& Statement::bind_double(int index, double value) {
  if (std::isnan(value)) return bind_null(index);
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK)
    throw_sqlite(db_, path_, "run log: bind");
  return *this;
}

Statement& Statement::bind_text(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    throw_sqlite(db_, path_, "run log: bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) throw_sqlite(db_, path_, "run log: bind");
  return *this;
}

Statement& Statement::bind_opt_int(int index, const std::optional<int64_t>& value) {
  return value ? bind_int(index, *value) : bind_null(index);
}

Statement& Statement::bind_opt_text(int index, const std::optional<std::string>& value) {
  return value ? bind_text(index, *value) : bind_null(index);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(db_, path_, "run log");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  // The error of a failed step was already thrown by step(); reset's return code repeats it.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::column_double(int col) const {
  if (is_null(col)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, col);
}

std::string Statement::column_text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<int64_t> Statement::column_opt_int(int col) const {
  if (is_null(col)) return std::nullopt;
  return column_int(col);
}

std::optional<double> Statement::column_opt_double(int col) const {
  if (is_null(col)) return std::nullopt;
  return column_double(col);
}

std::optional<std::string> Statement::column_opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return column_text(col);
}

WriteTransaction::WriteTransaction(sqlite3* db, const std::string& path) : db_(db), path_(path) {
  exec(db_, path_, "BEGIN IMMEDIATE");
}

WriteTransaction::~WriteTransaction() {
  // Destructors must not throw; if ROLLBACK fails the connection rolls back when closed anyway.
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit() {
  exec(db_, path_, "COMMIT");
  done_ = true;
}

}  // namespace souplab::run_log_detail
