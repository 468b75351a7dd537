#pragma once
// Internal to the run log: thin RAII wrappers over the sqlite3 C API. Every failure becomes an
// Error "<db path>: <what>: <sqlite3_errmsg>", so a message always says which database failed.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace souplab::run_log_detail {

[[noreturn]] void throw_sqlite(sqlite3* db, const std::string& path, const std::string& what);

// Runs SQL text without parameters (pragmas, schema). Never used with values.
void exec(sqlite3* db, const std::string& path, const std::string& sql);

// A prepared statement; values only ever go in through bind_*.
class Statement {
 public:
  // `what` starts the message if preparing fails (the first statement of an open fails there
  // for a file that is not a database).
  Statement(sqlite3* db, const std::string& path, const char* sql,
            const char* what = "run log: cannot prepare query");
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind_int(int index, int64_t value);
  Statement& bind_double(int index, double value);  // NaN binds as NULL (SQLite would anyway)
  Statement& bind_text(int index, const std::string& value);
  Statement& bind_null(int index);
  Statement& bind_opt_int(int index, const std::optional<int64_t>& value);
  Statement& bind_opt_text(int index, const std::optional<std::string>& value);

  bool step();   // true: a row is ready; false: done. Error otherwise.
  void run();    // step() to the end, for statements that return no rows
  void reset();  // ready to bind and run again

  bool is_null(int col) const;
  int64_t column_int(int col) const;
  double column_double(int col) const;  // NULL reads as NaN
  std::string column_text(int col) const;
  std::optional<int64_t> column_opt_int(int col) const;
  std::optional<double> column_opt_double(int col) const;
  std::optional<std::string> column_opt_text(int col) const;

 private:
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front, so a second writer waits
// in the busy handler instead of failing with SQLITE_BUSY when it upgrades a read lock in WAL
// mode. Rolls back if destroyed without commit() (an exception in between).
class WriteTransaction {
 public:
  WriteTransaction(sqlite3* db, const std::string& path);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  const std::string& path_;
  bool done_ = false;
};

// Reads the schema version (0 for a new, empty database) without taking a write lock.
int read_schema_version(sqlite3* db, const std::string& path);

// Brings the schema to kRunLogSchemaVersion, one transaction per migration; Error for a newer one.
void migrate(sqlite3* db, const std::string& path);

}  // namespace souplab::run_log_detail
