// The run log's schema as cumulative migrations. A migration is never edited once released: a new
// schema is a new migration, so any old database reaches the current version by the same path.
#include <string>

#include "souplab/error.h"
#include "souplab/run_log.h"
#include "engine/core/run_log_sqlite.h"

namespace souplab {
namespace {

// v1: runs, metrics, domains.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  config_json TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  checkpoint_path TEXT,
  parent_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL
);
CREATE TABLE metrics(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  split TEXT NOT NULL,
  domain TEXT,
  name TEXT NOT NULL,
  value REAL,
  wall_time REAL NOT NULL
);
CREATE INDEX metrics_run_step ON metrics(run_id, step);
CREATE TABLE domains(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  token_count INTEGER NOT NULL,
  PRIMARY KEY(run_id, idx)
);
)sql";

// v2: exports, events; run owner/progress columns; metrics made unique per (run, step, split,
// domain, name) so a resumed run re-logging a step replaces rows instead of duplicating them.
// SQLite cannot add a constraint to a table, so metrics is rebuilt; on duplicates the row logged
// last wins, as it would have with INSERT OR REPLACE. domain becomes NOT NULL '' because UNIQUE
// treats NULLs as distinct.
constexpr const char* kMigration2 = R"sql(
ALTER TABLE runs ADD COLUMN last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN checkpoint_step INTEGER;
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
UPDATE runs SET last_step = COALESCE((SELECT MAX(step) FROM metrics WHERE run_id = runs.id), 0);
CREATE TABLE metrics_v2(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  split TEXT NOT NULL,
  domain TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  value REAL,
  wall_time REAL NOT NULL,
  UNIQUE(run_id, step, split, domain, name)
);
INSERT OR REPLACE INTO metrics_v2(run_id, step, split, domain, name, value, wall_time)
  SELECT run_id, step, split, COALESCE(domain, ''), name, value, wall_time
  FROM metrics WHERE run_id IN (SELECT id FROM runs) ORDER BY rowid;
DROP TABLE metrics;
ALTER TABLE metrics_v2 RENAME TO metrics;
CREATE INDEX metrics_run_name_step ON metrics(run_id, name, step);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE exports(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  domain_weights_json TEXT NOT NULL,
  path TEXT NOT NULL,
  format TEXT NOT NULL,
  losses_json TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
CREATE INDEX exports_run ON exports(run_id);
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  detail_json TEXT NOT NULL DEFAULT '{}',
  at TEXT NOT NULL
);
CREATE INDEX events_run ON events(run_id);
)sql";

}  // namespace

std::string run_log_migration_sql(int to_version) {
  switch (to_version) {
    case 1:
      return kMigration1;
    case 2:
      return kMigration2;
    default:
      return {};
  }
}

namespace run_log_detail {

int read_schema_version(sqlite3* db, const std::string& path) {
  Statement has_table(
      db, path, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has_table.step()) return 0;
  Statement version(db, path, "SELECT MAX(version) FROM schema_version");
  return version.step() && !version.is_null(0) ? static_cast<int>(version.column_int(0)) : 0;
}

namespace {

void check_not_newer(int version, const std::string& path) {
  if (version > kRunLogSchemaVersion)
    throw file_error(path, "run log created by a newer SoupLab (schema version " +
                               std::to_string(version) + ", this build knows up to " +
                               std::to_string(kRunLogSchemaVersion) + ")");
}

}  // namespace

void migrate(sqlite3* db, const std::string& path) {
  // Fast path without a write lock: most opens find the schema current.
  int version = read_schema_version(db, path);
  check_not_newer(version, path);
  while (version < kRunLogSchemaVersion) {
    // Re-read inside the write transaction: another process may have migrated meanwhile.
    WriteTransaction tx(db, path);
    exec(db, path, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    version = read_schema_version(db, path);
    check_not_newer(version, path);
    if (version < kRunLogSchemaVersion) {
      ++version;
      exec(db, path, run_log_migration_sql(version));
      exec(db, path, "DELETE FROM schema_version");
      Statement set(db, path, "INSERT INTO schema_version(version) VALUES (?1)");
      set.bind_int(1, version).run();
    }
    tx.commit();
  }
}

}  // namespace run_log_detail
}  // namespace souplab
