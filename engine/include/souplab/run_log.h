#pragma once
// The run log: one SQLite database (docs/DESIGN.md §3.2) that records every run, its metrics, domains,
// exports and events. WAL mode, so the GUI can read while a trainer writes; every write is one
// transaction, so a killed process leaves the file consistent. Plain C++17 + sqlite3, no Qt.
//
// Threads and processes: one RunLog object owns one connection. Use one object per thread (like
// one named connection per thread in qBittorrent); several objects and processes may open the
// same file at once. Writers wait up to 5 s for each other (busy timeout).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "souplab/metrics.h"  // Metric

struct sqlite3;

namespace souplab {

// Schema version this build writes. Older databases are migrated on open; newer ones are refused.
inline constexpr int kRunLogSchemaVersion = 2;

// Run statuses. "interrupted" is only set by mark_interrupted_runs().
inline constexpr const char* kRunStatuses[] = {"running",  "paused", "stopped",
                                               "finished", "failed", "interrupted"};

// What a front end knows when it starts a run.
struct RunInfo {
  std::string name;
  std::string kind;                      // "train", "finetune", "eval", ...
  std::string config_json = "{}";        // the full config, so the run can be reproduced
  std::optional<int64_t> parent_run_id;  // run this one was resumed or forked from
  std::string status = "running";
  std::string started_at;  // ISO-8601 UTC; empty = now
};

// One row of the run browser / `runs list`.
struct RunSummary {
  int64_t id = 0;
  std::string name;
  std::string kind;
  std::string status;
  int64_t last_step = 0;  // highest step seen in metrics or checkpoints
  // Best validation loss: for each step, the mean over domains of split='val' rows named
  // "loss_uniform"; if the run has no such rows, of rows named "loss". The minimum over steps.
  // Empty when the run has no validation loss yet.
  std::optional<double> best_val_loss;
  std::string started_at;               // ISO-8601 UTC
  std::optional<std::string> ended_at;  // ISO-8601 UTC
  std::string checkpoint_path;          // empty = no checkpoint yet
  std::optional<int64_t> checkpoint_step;
  std::optional<int64_t> parent_run_id;
};

// Everything `runs show` prints.
struct RunDetails : RunSummary {
  std::string config_json;
  std::optional<int64_t> owner_pid;  // process that last set the run running
};

struct DomainRecord {
  int index = 0;
  std::string name;
  int64_t token_count = 0;
};

struct ExportRecord {
  int64_t id = 0;  // set by log_export
  int64_t run_id = 0;
  int64_t step = 0;
  std::string domain_weights_json;  // the weights the specialist was instantiated with
  std::string path;
  std::string format;              // "safetensors", "onnx", ...
  std::string losses_json = "{}";  // per-domain validation losses of the specialist
  std::string created_at;          // ISO-8601 UTC; empty = now
};

struct EventRecord {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string kind;  // "train", "resume", "eval", "export", "generate", "interrupted", ...
  std::string detail_json;
  std::string at;  // ISO-8601 UTC
};

class RunLog {
 public:
  // Opens the run log at `path` (empty: default_run_log_path()), creating the file and its
  // folder if needed, and migrates it to kRunLogSchemaVersion. Error naming the path if it is
  // not a SQLite database, is corrupt, or was created by a newer SoupLab.
  explicit RunLog(const std::string& path);
  static RunLog open(const std::string& path) { return RunLog(path); }

  RunLog(RunLog&&) noexcept;
  RunLog& operator=(RunLog&&) noexcept;
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  ~RunLog();

  const std::string& path() const { return path_; }
  int schema_version() const;

  // --- writes: each call is one transaction; unknown run ids are an Error naming the id ---
  // Stores the calling process as the owner (see mark_interrupted_runs).
  int64_t create_run(const RunInfo& info);
  // Setting "running" again (resume) makes the calling process the owner. `ended_at` (ISO-8601)
  // is written when given and left as it is otherwise.
  void set_run_status(int64_t run_id, const std::string& status,
                      const std::optional<std::string>& ended_at = std::nullopt);
  void set_checkpoint(int64_t run_id, const std::string& path, int64_t step);
  // Replaces the run's domains; index = position in `domains`.
  void set_domains(int64_t run_id, const std::vector<std::pair<std::string, int64_t>>& domains);
  // All rows of one logging interval in one transaction. A row with the same (step, split,
  // domain, name) as an existing one replaces it, so a resumed run may re-log a step.
  void log_metrics(int64_t run_id, const std::vector<Metric>& metrics);
  int64_t log_event(int64_t run_id, const std::string& kind, const std::string& detail_json = "{}");
  int64_t log_export(const ExportRecord& record);

  // Runs left "running" by a process that no longer exists (crash, kill, power loss) become
  // "interrupted", with ended_at = time of their last metric. Runs without a recorded owner
  // count as orphaned. Front ends call this at start. Returns the ids marked.
  std::vector<int64_t> mark_interrupted_runs();

  // --- reads ---
  std::vector<RunSummary> list_runs() const;  // ordered by id
  RunDetails get_run(int64_t run_id) const;   // Error naming the id if absent
  // Ordered by step, then by the order logged. `since_step`: only steps >= it.
  std::vector<Metric> metrics(int64_t run_id, const std::optional<std::string>& name = std::nullopt,
                              std::optional<int64_t> since_step = std::nullopt) const;
  std::vector<DomainRecord> domains(int64_t run_id) const;
  std::vector<ExportRecord> exports(int64_t run_id) const;
  std::vector<EventRecord> events(int64_t run_id) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  sqlite3* db() const;  // Error if moved from
  void require_run(int64_t run_id) const;

  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// SQL of the migration that takes the schema from `to_version - 1` to `to_version` (empty for an
// unknown version). Exposed so tests can build an old database by hand.
std::string run_log_migration_sql(int to_version);

// Time helpers used by the log.
double unix_time_now();                        // seconds since epoch
std::string iso8601_utc(double unix_seconds);  // "2025-01-31T12:00:00Z"
std::string iso8601_utc_now();

}  // namespace souplab
