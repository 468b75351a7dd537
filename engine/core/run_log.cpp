#include "souplab/run_log.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <thread>
#include <nlohmann/json.hpp>

#include "souplab/error.h"
#include "souplab/paths.h"
#include "engine/core/run_log_sqlite.h"

namespace souplab {

using run_log_detail::exec;
using run_log_detail::Statement;
using run_log_detail::throw_sqlite;
using run_log_detail::WriteTransaction;

// ---------------------------------------------------------------------------------------------
// Time helpers

double unix_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string iso8601_utc(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso8601_utc_now() { return iso8601_utc(unix_time_now()); }

// ---------------------------------------------------------------------------------------------

namespace {

bool is_known_status(const std::string& status) {
  return std::find(std::begin(kRunStatuses), std::end(kRunStatuses), status) !=
         std::end(kRunStatuses);
}

// JSON columns hold what a reader can parse; an empty string means "no details".
std::string checked_json(const std::string& json, const std::string& path, const char* what) {
  if (json.empty()) return "{}";
  if (!nlohmann::json::accept(json))
    throw file_error(path, std::string("run log: ") + what + " is not valid JSON: " + json);
  return json;
}

std::string no_run(int64_t run_id) { return "run log: no run with id " + std::to_string(run_id); }

// Whether the process that owns a "running" run is gone. EPERM means it exists under another user.
bool process_is_dead(const std::optional<int64_t>& pid) {
  if (!pid || *pid <= 0) return true;
  if (*pid == static_cast<int64_t>(getpid())) return false;
  return kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH;
}

// best_val_loss: see RunSummary. COALESCE picks the soup's uniform-h loss whenever the run has
// any, else a dense run's loss (souplab/metrics.h names them).
const std::string& run_columns() {
  static const std::string columns =
      std::string("r.id, r.name, r.kind, r.status, r.last_step, r.started_at, r.ended_at, r.checkpoint_path, "
                  "r.checkpoint_step, r.parent_run_id, COALESCE("
                  " (SELECT MIN(m) FROM (SELECT AVG(value) AS m FROM metrics"
                  "   WHERE run_id = r.id AND split = '") + metric_key::kVal + "' AND name = '" + metric_key::kLossUniform +
      "' GROUP BY step)),"
      " (SELECT MIN(m) FROM (SELECT AVG(value) AS m FROM metrics"
      "   WHERE run_id = r.id AND split = '" + metric_key::kVal + "' AND name = '" + metric_key::kLoss +
      "' GROUP BY step))), r.config_json, r.owner_pid ";
  return columns;
}

void read_summary(const Statement& q, RunSummary& s) {
  s.id = q.column_int(0);
  s.name = q.column_text(1);
  s.kind = q.column_text(2);
  s.status = q.column_text(3);
  s.last_step = q.column_int(4);
  s.started_at = q.column_text(5);
  s.ended_at = q.column_opt_text(6);
  s.checkpoint_path = q.column_text(7);
  s.checkpoint_step = q.column_opt_int(8);
  s.parent_run_id = q.column_opt_int(9);
  s.best_val_loss = q.column_opt_double(10);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening

void RunLog::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

RunLog::RunLog(const std::string& path) : path_(run_log_path_or_default(path)) {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) ensure_directory(parent.string());

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_.reset(raw);  // closed by the deleter even when opening failed
  if (rc != SQLITE_OK) throw_sqlite(raw, path_, "cannot open run log");
  sqlite3_extended_result_codes(raw, 1);
  // Before anything touches the file, so concurrent openers wait rather than fail.
  sqlite3_busy_timeout(raw, 5000);

  // The first statement to read the file: a non-database fails here ("file is not a database").
  // Switching a brand-new file to WAL can report SQLITE_BUSY without consulting the busy
  // handler while another connection does the same (the concurrent first-open test failed with
  // "database is locked" once under load; every later step waits via the busy timeout), so BUSY
  // is retried here for the same 5 s.
  for (const auto start = std::chrono::steady_clock::now();;) {
    try {
      Statement wal(raw, path_, "PRAGMA journal_mode=WAL", "cannot open run log");
      if (!wal.step() || wal.column_text(0) != "wal")
        throw file_error(path_, "run log: cannot switch to WAL mode (journal mode is '" +
                                    wal.column_text(0) + "')");
      break;
    } catch (const Error&) {
      if ((sqlite3_extended_errcode(raw) & 0xff) != SQLITE_BUSY ||
          std::chrono::steady_clock::now() - start > std::chrono::seconds(5))
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // NORMAL is durable enough in WAL mode: a power loss can lose the last commits, never corrupt.
  exec(raw, path_, "PRAGMA synchronous=NORMAL");
  exec(raw, path_, "PRAGMA foreign_keys=ON");
  // No integrity check here: it reads the whole file on every open (slow for a big log). Damage
  // surfaces as SQLITE_CORRUPT on the first page touched, which becomes an Error like any other.
  run_log_detail::migrate(raw, path_);
}

RunLog::RunLog(RunLog&&) noexcept = default;
RunLog& RunLog::operator=(RunLog&&) noexcept = default;
RunLog::~RunLog() = default;

sqlite3* RunLog::db() const {
  if (!db_) throw Error("run log: used after being moved from");
  return db_.get();
}

int RunLog::schema_version() const { return run_log_detail::read_schema_version(db(), path_); }

void RunLog::require_run(int64_t run_id) const {
  Statement q(db(), path_, "SELECT 1 FROM runs WHERE id = ?1");
  if (!q.bind_int(1, run_id).step()) throw file_error(path_, no_run(run_id));
}

// ---------------------------------------------------------------------------------------------
// Writes

int64_t RunLog::create_run(const RunInfo& info) {
  if (!is_known_status(info.status))
    throw file_error(path_, "run log: unknown run status '" + info.status + "'");
  std::string config = checked_json(info.config_json, path_, "config_json");
  WriteTransaction tx(db(), path_);
  if (info.parent_run_id) require_run(*info.parent_run_id);
  Statement q(db(), path_,
              "INSERT INTO runs(name, kind, config_json, status, started_at, parent_run_id, "
              "owner_pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  q.bind_text(1, info.name)
      .bind_text(2, info.kind)
      .bind_text(3, config)
      .bind_text(4, info.status)
      .bind_text(5, info.started_at.empty() ? iso8601_utc_now() : info.started_at)
      .bind_opt_int(6, info.parent_run_id)
      .bind_int(7, getpid())
      .run();
  int64_t id = sqlite3_last_insert_rowid(db());
  tx.commit();
  return id;
}

void RunLog::set_run_status(int64_t run_id, const std::string& status,
                            const std::optional<std::string>& ended_at) {
  if (!is_known_status(status))
    throw file_error(path_, "run log: unknown run status '" + status + "'");
  WriteTransaction tx(db(), path_);
  Statement q(db(), path_,
              "UPDATE runs SET status = ?2, ended_at = COALESCE(?3, ended_at), "
              "owner_pid = CASE WHEN ?2 = 'running' THEN ?4 ELSE owner_pid END WHERE id = ?1");
  q.bind_int(1, run_id).bind_text(2, status).bind_opt_text(3, ended_at).bind_int(4, getpid()).run();
  if (sqlite3_changes(db()) == 0) throw file_error(path_, no_run(run_id));
  tx.commit();
}

void RunLog::set_checkpoint(int64_t run_id, const std::string& path, int64_t step) {
  WriteTransaction tx(db(), path_);
  Statement q(db(), path_,
              "UPDATE runs SET checkpoint_path = ?2, checkpoint_step = ?3, "
              "last_step = MAX(last_step, ?3) WHERE id = ?1");
  q.bind_int(1, run_id).bind_text(2, path).bind_int(3, step).run();
  if (sqlite3_changes(db()) == 0) throw file_error(path_, no_run(run_id));
  tx.commit();
}

void RunLog::set_domains(int64_t run_id,
                         const std::vector<std::pair<std::string, int64_t>>& domains) {
  WriteTransaction tx(db(), path_);
  require_run(run_id);
  Statement clear(db(), path_, "DELETE FROM domains WHERE run_id = ?1");
  clear.bind_int(1, run_id).run();
  Statement insert(db(), path_,
                   "INSERT INTO domains(run_id, idx, name, token_count) VALUES (?1, ?2, ?3, ?4)");
  for (size_t i = 0; i < domains.size(); ++i) {
    insert.bind_int(1, run_id)
        .bind_int(2, static_cast<int64_t>(i))
        .bind_text(3, domains[i].first)
        .bind_int(4, domains[i].second)
        .run();
    insert.reset();
  }
  tx.commit();
}

void RunLog::log_metrics(int64_t run_id, const std::vector<Metric>& metrics) {
  if (metrics.empty()) return;
  int64_t max_step = metrics.front().step;
  for (const Metric& m : metrics) {
    if (m.split.empty() || m.name.empty())
      throw file_error(path_, "run log: metric at step " + std::to_string(m.step) +
                                  " has an empty split or name");
    max_step = std::max(max_step, m.step);
  }
  const double now = unix_time_now();
  WriteTransaction tx(db(), path_);
  // Doubles as the existence check, before any row is written.
  Statement progress(db(), path_, "UPDATE runs SET last_step = MAX(last_step, ?2) WHERE id = ?1");
  progress.bind_int(1, run_id).bind_int(2, max_step).run();
  if (sqlite3_changes(db()) == 0) throw file_error(path_, no_run(run_id));
  Statement insert(db(), path_,
                   "INSERT OR REPLACE INTO metrics(run_id, step, split, domain, name, value, "
                   "wall_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (const Metric& m : metrics) {
    insert.bind_int(1, run_id)
        .bind_int(2, m.step)
        .bind_text(3, m.split)
        .bind_text(4, m.domain)
        .bind_text(5, m.name)
        .bind_double(6, m.value)
        .bind_double(7, m.wall_time > 0 ? m.wall_time : now)
        .run();
    insert.reset();
  }
  tx.commit();
}

int64_t RunLog::log_event(int64_t run_id, const std::string& kind, const std::string& detail_json) {
  std::string detail = checked_json(detail_json, path_, "event detail");
  WriteTransaction tx(db(), path_);
  require_run(run_id);
  Statement q(db(), path_,
              "INSERT INTO events(run_id, kind, detail_json, at) VALUES (?1, ?2, ?3, ?4)");
  q.bind_int(1, run_id)
      .bind_text(2, kind)
      .bind_text(3, detail)
      .bind_text(4, iso8601_utc_now())
      .run();
  int64_t id = sqlite3_last_insert_rowid(db());
  tx.commit();
  return id;
}

int64_t RunLog::log_export(const ExportRecord& r) {
  std::string weights = checked_json(r.domain_weights_json, path_, "export domain weights");
  std::string losses = checked_json(r.losses_json, path_, "export losses");
  WriteTransaction tx(db(), path_);
  require_run(r.run_id);
  Statement q(db(), path_,
              "INSERT INTO exports(run_id, step, domain_weights_json, path, format, losses_json, "
              "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  q.bind_int(1, r.run_id)
      .bind_int(2, r.step)
      .bind_text(3, weights)
      .bind_text(4, r.path)
      .bind_text(5, r.format)
      .bind_text(6, losses)
      .bind_text(7, r.created_at.empty() ? iso8601_utc_now() : r.created_at)
      .run();
  int64_t id = sqlite3_last_insert_rowid(db());
  tx.commit();
  return id;
}

std::vector<int64_t> RunLog::mark_interrupted_runs() {
  std::vector<int64_t> marked;
  WriteTransaction tx(db(), path_);
  Statement running(db(), path_, "SELECT id, owner_pid FROM runs WHERE status = 'running'");
  while (running.step())
    if (process_is_dead(running.column_opt_int(1))) marked.push_back(running.column_int(0));
  Statement last(db(), path_, "SELECT MAX(wall_time) FROM metrics WHERE run_id = ?1");
  Statement mark(db(), path_,
                 "UPDATE runs SET status = 'interrupted', ended_at = ?2 WHERE id = ?1");
  Statement event(db(), path_,
                  "INSERT INTO events(run_id, kind, detail_json, at) VALUES (?1, 'interrupted', "
                  "'{}', ?2)");
  const std::string now = iso8601_utc_now();
  for (int64_t id : marked) {
    last.bind_int(1, id);
    std::optional<double> t = last.step() ? last.column_opt_double(0) : std::nullopt;
    last.reset();
    std::optional<std::string> ended;
    if (t) ended = iso8601_utc(*t);
    mark.bind_int(1, id).bind_opt_text(2, ended).run();
    mark.reset();
    event.bind_int(1, id).bind_text(2, now).run();
    event.reset();
  }
  tx.commit();
  return marked;
}

// ---------------------------------------------------------------------------------------------
// Reads

std::vector<RunSummary> RunLog::list_runs() const {
  std::vector<RunSummary> runs;
  Statement q(db(), path_,
              (std::string("SELECT ") + run_columns() + "FROM runs r ORDER BY r.id").c_str());
  while (q.step()) read_summary(q, runs.emplace_back());
  return runs;
}

RunDetails RunLog::get_run(int64_t run_id) const {
  Statement q(db(), path_,
              (std::string("SELECT ") + run_columns() + "FROM runs r WHERE r.id = ?1").c_str());
  if (!q.bind_int(1, run_id).step()) throw file_error(path_, no_run(run_id));
  RunDetails d;
  read_summary(q, d);
  d.config_json = q.column_text(11);
  d.owner_pid = q.column_opt_int(12);
  return d;
}

std::vector<Metric> RunLog::metrics(int64_t run_id, const std::optional<std::string>& name,
                                    std::optional<int64_t> since_step) const {
  // NULL parameters disable their filter, so one statement covers every combination.
  Statement q(db(), path_,
              "SELECT step, split, domain, name, value, wall_time FROM metrics "
              "WHERE run_id = ?1 AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR step >= ?3) "
              "ORDER BY step, rowid");
  q.bind_int(1, run_id).bind_opt_text(2, name).bind_opt_int(3, since_step);
  std::vector<Metric> out;
  while (q.step()) {
    Metric& m = out.emplace_back();
    m.step = q.column_int(0);
    m.split = q.column_text(1);
    m.domain = q.column_text(2);
    m.name = q.column_text(3);
    m.value = q.column_double(4);
    m.wall_time = q.column_double(5);
  }
  return out;
}

std::vector<DomainRecord> RunLog::domains(int64_t run_id) const {
  Statement q(db(), path_,
              "SELECT idx, name, token_count FROM domains WHERE run_id = ?1 ORDER BY idx");
  q.bind_int(1, run_id);
  std::vector<DomainRecord> out;
  while (q.step())
    out.push_back({static_cast<int>(q.column_int(0)), q.column_text(1), q.column_int(2)});
  return out;
}

std::vector<ExportRecord> RunLog::exports(int64_t run_id) const {
  Statement q(db(), path_,
              "SELECT id, run_id, step, domain_weights_json, path, format, losses_json, created_at "
              "FROM exports WHERE run_id = ?1 ORDER BY id");
  q.bind_int(1, run_id);
  std::vector<ExportRecord> out;
  while (q.step())
    out.push_back({q.column_int(0), q.column_int(1), q.column_int(2), q.column_text(3),
                   q.column_text(4), q.column_text(5), q.column_text(6), q.column_text(7)});
  return out;
}

std::vector<EventRecord> RunLog::events(int64_t run_id) const {
  Statement q(db(), path_,
              "SELECT id, run_id, kind, detail_json, at FROM events WHERE run_id = ?1 ORDER BY id");
  q.bind_int(1, run_id);
  std::vector<EventRecord> out;
  while (q.step())
    out.push_back(
        {q.column_int(0), q.column_int(1), q.column_text(2), q.column_text(3), q.column_text(4)});
  return out;
}

}  // namespace souplab
