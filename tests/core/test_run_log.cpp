// The SQLite run log: round trips, replace-on-relog, best validation loss, migrations from v1,
// refusing newer/garbage/corrupt files, concurrent writers, crash recovery of "running" runs.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QDeadlineTimer>
#include <QtTest>
#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "souplab/error.h"
#include "souplab/run_log.h"

using namespace souplab;

namespace {

// The message of the Error `f` throws; empty if it throws none (any other exception fails).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Raw access for what the API deliberately does not offer (pragmas, hand-made old schemas).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) qFatal("cannot open %s", path.c_str());
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      qFatal("SQL failed: %s: %s", sql.c_str(), msg.c_str());
    }
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    std::string out;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

Metric metric(int64_t step, const std::string& split, const std::string& domain,
              const std::string& name, double value) {
  return Metric{step, split, domain, name, value, 1.7e9 + static_cast<double>(step)};
}

RunInfo run_info(const std::string& name, const std::string& kind = "train") {
  RunInfo info;
  info.name = name;
  info.kind = kind;
  return info;
}

bool same(const Metric& a, const Metric& b) {
  bool values = (std::isnan(a.value) && std::isnan(b.value)) || a.value == b.value;
  return a.step == b.step && a.split == b.split && a.domain == b.domain && a.name == b.name &&
         values && a.wall_time == b.wall_time;
}

}  // namespace

class TestRunLog : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  std::string file(const char* name) const { return m_dir.filePath(name).toStdString(); }

 private Q_SLOTS:
  void initTestCase() { QVERIFY(m_dir.isValid()); }

  void time_helpers() {
    QCOMPARE(iso8601_utc(0), std::string("1970-01-01T00:00:00Z"));
    QCOMPARE(iso8601_utc(1700000000.9), std::string("2023-11-14T22:13:20Z"));
    QVERIFY(std::abs(unix_time_now() - static_cast<double>(std::time(nullptr))) < 2);
  }

  void creates_folder_and_uses_wal() {
    std::string path = file("nested/deeper/runs.sqlite");
    RunLog log(path);
    QCOMPARE(log.schema_version(), kRunLogSchemaVersion);
    RawDb raw(path);
    QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
    QCOMPARE(raw.integer("SELECT MAX(version) FROM schema_version"),
             static_cast<int64_t>(kRunLogSchemaVersion));
  }

  void metrics_round_trip_over_intervals() {
    RunLog log(file("roundtrip.sqlite"));
    RunInfo info;
    info.name = "soup-small";
    info.kind = "train";
    info.config_json = R"({"experts": 4, "lr": 0.001})";
    int64_t id = log.create_run(info);
    log.set_domains(id, {{"arxiv", 1000}, {"code", 2500}});

    std::vector<Metric> all;
    for (int interval = 0; interval < 3; ++interval) {
      std::vector<Metric> batch;
      for (int s = 0; s < 4; ++s) {
        int64_t step = interval * 100 + s * 25;
        batch.push_back(metric(step, "train", "", "loss", 5.0 - 0.01 * static_cast<double>(step)));
        batch.push_back(metric(step, "train", "", "lr", 1e-3));
      }
      batch.push_back(metric(interval * 100 + 75, "val", "arxiv", "loss", 4.0 - interval));
      batch.push_back(metric(interval * 100 + 75, "val", "code", "loss", std::nan("")));
      log.log_metrics(id, batch);
      all.insert(all.end(), batch.begin(), batch.end());
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const Metric& a, const Metric& b) { return a.step < b.step; });

    std::vector<Metric> back = log.metrics(id);
    QCOMPARE(back.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i)
      QVERIFY2(same(back[i], all[i]), std::to_string(i).c_str());

    std::vector<Metric> lr = log.metrics(id, std::string("lr"));
    QCOMPARE(lr.size(), size_t(12));
    for (const Metric& m : lr) QCOMPARE(m.name, std::string("lr"));
    std::vector<Metric> late = log.metrics(id, std::string("loss"), int64_t(200));
    QCOMPARE(late.size(), size_t(6));  // 4 train + 2 val rows of the last interval
    for (const Metric& m : late) QVERIFY(m.step >= 200);

    RunDetails run = log.get_run(id);
    QCOMPARE(run.name, info.name);
    QCOMPARE(run.kind, info.kind);
    QCOMPARE(run.config_json, info.config_json);
    QCOMPARE(run.status, std::string("running"));
    QCOMPARE(run.last_step, int64_t(275));
    QCOMPARE(run.owner_pid.value_or(-1), int64_t(getpid()));
    QVERIFY(!run.ended_at);
    QCOMPARE(run.started_at.size(), size_t(20));  // 2025-01-31T12:00:00Z

    std::vector<DomainRecord> doms = log.domains(id);
    QCOMPARE(doms.size(), size_t(2));
    QCOMPARE(doms[1].index, 1);
    QCOMPARE(doms[1].name, std::string("code"));
    QCOMPARE(doms[1].token_count, int64_t(2500));
    log.set_domains(id, {{"web", 7}});  // replaces, does not append
    QCOMPARE(log.domains(id).size(), size_t(1));

    log.set_checkpoint(id, "/ckpt/step300.pt", 300);
    log.set_run_status(id, "finished", std::string("2025-01-31T12:00:00Z"));
    run = log.get_run(id);
    QCOMPARE(run.checkpoint_path, std::string("/ckpt/step300.pt"));
    QCOMPARE(run.checkpoint_step.value_or(-1), int64_t(300));
    QCOMPARE(run.last_step, int64_t(300));
    QCOMPARE(run.status, std::string("finished"));
    QCOMPARE(run.ended_at.value_or(""), std::string("2025-01-31T12:00:00Z"));
    log.set_run_status(id, "paused");  // no ended_at given: keeps the old one
    QCOMPARE(log.get_run(id).ended_at.value_or(""), std::string("2025-01-31T12:00:00Z"));
  }

  void relogging_a_step_replaces() {
    std::string path = file("relog.sqlite");
    RunLog log(path);
    int64_t id = log.create_run(run_info("r"));
    log.log_metrics(id, {metric(10, "train", "", "loss", 3.0), metric(10, "val", "a", "loss", 3.5),
                         metric(20, "train", "", "loss", 2.5)});
    // A resumed run re-logs step 10 (and continues).
    log.log_metrics(id, {metric(10, "train", "", "loss", 2.9), metric(10, "val", "a", "loss", 3.4),
                         metric(30, "train", "", "loss", 2.0)});
    std::vector<Metric> back = log.metrics(id);
    QCOMPARE(back.size(), size_t(4));
    QCOMPARE(back[0].step, int64_t(10));
    QCOMPARE(back[0].value, 2.9);
    QCOMPARE(back[1].value, 3.4);
    QCOMPARE(back[2].step, int64_t(20));
    RawDb raw(path);
    QCOMPARE(raw.integer("SELECT COUNT(*) FROM metrics WHERE step = 10"), int64_t(2));
    // Same step, different domain or split: distinct rows, not replaced.
    log.log_metrics(id, {metric(10, "val", "b", "loss", 1.0), metric(10, "val", "", "loss", 1.0)});
    QCOMPARE(log.metrics(id, std::string("loss"), int64_t(10)).size(), size_t(6));
  }

  void best_val_loss_is_min_of_step_means() {
    RunLog log(file("best.sqlite"));
    int64_t plain = log.create_run(run_info("plain"));
    log.log_metrics(plain,
                    {metric(100, "val", "a", "loss", 3.0), metric(100, "val", "b", "loss", 5.0),
                     metric(200, "val", "a", "loss", 2.0), metric(200, "val", "b", "loss", 4.0),
                     metric(300, "val", "a", "loss", 2.5), metric(300, "val", "b", "loss", 3.7),
                     metric(300, "train", "", "loss", 0.1)});  // train rows never count
    int64_t uniform = log.create_run(run_info("uniform"));
    log.log_metrics(uniform, {metric(100, "val", "", "loss_uniform", 3.3),
                              metric(200, "val", "", "loss_uniform", 2.2),
                              metric(200, "val", "a", "loss", 0.5)});  // ignored: loss_uniform wins
    int64_t none = log.create_run(run_info("none"));
    log.log_metrics(none, {metric(1, "train", "", "loss", 1.0)});

    std::vector<RunSummary> runs = log.list_runs();
    QCOMPARE(runs.size(), size_t(3));
    QCOMPARE(runs[0].id, plain);
    QVERIFY(runs[0].best_val_loss);
    QCOMPARE(*runs[0].best_val_loss, 3.0);  // means 4.0, 3.0, 3.1
    QCOMPARE(*runs[1].best_val_loss, 2.2);
    QVERIFY(!runs[2].best_val_loss);
    QCOMPARE(log.get_run(plain).best_val_loss.value_or(-1), 3.0);
  }

  void migrates_v1_database_keeping_rows() {
    std::string path = file("v1.sqlite");
    {
      RawDb raw(path);
      raw.exec("CREATE TABLE schema_version(version INTEGER NOT NULL)");
      raw.exec(run_log_migration_sql(1));
      raw.exec("INSERT INTO schema_version VALUES (1)");
      raw.exec(
          "INSERT INTO runs(id, name, kind, config_json, status, started_at, ended_at, "
          "checkpoint_path) VALUES (7, 'old', 'train', '{\"e\":2}', 'finished', "
          "'2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '/c/old.pt')");
      raw.exec(
          "INSERT INTO runs(id, name, kind, status, started_at, parent_run_id) "
          "VALUES (8, 'child', 'finetune', 'stopped', '2024-02-01T00:00:00Z', 7)");
      raw.exec("INSERT INTO metrics VALUES (7, 50, 'train', NULL, 'loss', 4.0, 1.0)");
      raw.exec("INSERT INTO metrics VALUES (7, 100, 'val', 'arxiv', 'loss', 3.0, 2.0)");
      // v1 allowed duplicates; the later one must survive the migration.
      raw.exec("INSERT INTO metrics VALUES (7, 100, 'val', 'arxiv', 'loss', 2.5, 3.0)");
      raw.exec("INSERT INTO metrics VALUES (8, 10, 'train', NULL, 'loss', 9.0, 4.0)");
      raw.exec("INSERT INTO domains VALUES (7, 0, 'arxiv', 123)");
    }
    RunLog log(path);
    QCOMPARE(log.schema_version(), kRunLogSchemaVersion);
    std::vector<RunSummary> runs = log.list_runs();
    QCOMPARE(runs.size(), size_t(2));
    RunDetails old = log.get_run(7);
    QCOMPARE(old.name, std::string("old"));
    QCOMPARE(old.config_json, std::string("{\"e\":2}"));
    QCOMPARE(old.ended_at.value_or(""), std::string("2024-01-02T00:00:00Z"));
    QCOMPARE(old.checkpoint_path, std::string("/c/old.pt"));
    QCOMPARE(old.last_step, int64_t(100));  // backfilled from metrics
    QCOMPARE(old.best_val_loss.value_or(-1), 2.5);
    QCOMPARE(log.get_run(8).parent_run_id.value_or(-1), int64_t(7));
    std::vector<Metric> m = log.metrics(7);
    QCOMPARE(m.size(), size_t(2));
    QCOMPARE(m[0].domain, std::string(""));  // NULL domain became ''
    QCOMPARE(m[1].value, 2.5);
    QCOMPARE(m[1].wall_time, 3.0);
    QCOMPARE(log.metrics(8).size(), size_t(1));
    QCOMPARE(log.domains(7).size(), size_t(1));
    // v2 features work on the migrated file, and the uniqueness now holds for old rows too.
    log.log_metrics(7, {metric(100, "val", "arxiv", "loss", 2.0)});
    QCOMPARE(log.metrics(7).size(), size_t(2));
    QVERIFY(log.log_event(7, "resume", R"({"from_step": 100})") > 0);
    QCOMPARE(log.events(7).size(), size_t(1));
    RawDb raw(path);
    QCOMPARE(raw.text("PRAGMA integrity_check"), std::string("ok"));
    QCOMPARE(raw.integer("SELECT COUNT(*) FROM schema_version"), int64_t(1));
  }

  void refuses_newer_schema() {
    std::string path = file("newer.sqlite");
    { RunLog log(path); }
    {
      RawDb raw(path);
      raw.exec("UPDATE schema_version SET version = " + std::to_string(kRunLogSchemaVersion + 1));
    }
    std::string err = error_of([&] { RunLog log(path); });
    qInfo("%s", err.c_str());
    QVERIFY2(contains(err, "newer SoupLab"), err.c_str());
    QVERIFY2(contains(err, path), err.c_str());
  }

  void refuses_garbage_file_without_touching_it() {
    std::string path = file("garbage.sqlite");
    std::string garbage(3000, 'x');
    garbage.replace(0, 20, "this is not sqlite\n");
    { std::ofstream(path, std::ios::binary) << garbage; }
    std::string err = error_of([&] { RunLog log(path); });
    QVERIFY2(contains(err, path), err.c_str());
    qInfo("%s", err.c_str());
    QVERIFY2(contains(err, "not a database"), err.c_str());
    std::ifstream in(path, std::ios::binary);
    std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    QCOMPARE(after, garbage);
  }

  void corrupt_pages_give_an_error() {
    std::string path = file("corrupt.sqlite");
    {
      RunLog log(path);
      int64_t id = log.create_run(run_info("c"));
      std::vector<Metric> batch;
      for (int s = 0; s < 2000; ++s) batch.push_back(metric(s, "train", "", "loss", 1.0));
      log.log_metrics(id, batch);
    }  // last connection closes: WAL is checkpointed into the main file
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(4096);  // keep page 1 (header, schema), smash everything after it
      std::string junk(64 * 1024, '\xA5');
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    std::string err = error_of([&] {
      RunLog log(path);
      log.list_runs();
      log.metrics(1);
    });
    qInfo("%s", err.c_str());
    QVERIFY2(contains(err, path), err.c_str());
  }

  void concurrent_writers_lose_nothing() {
    std::string path = file("concurrent.sqlite");
    int64_t id = 0;
    {
      RunLog log(path);
      id = log.create_run(run_info("shared"));
    }
    constexpr int kTransactions = 200;
    std::string errors[2];
    auto writer = [&](int who) {
      try {
        RunLog log(path);  // one connection per thread
        for (int i = 0; i < kTransactions; ++i) {
          int64_t step = who * 100000 + i;
          log.log_metrics(
              id, {metric(step, "train", "", "loss", i), metric(step, "train", "", "lr", who)});
          if (i % 10 == 0) log.log_event(id, "eval", "{}");
        }
      } catch (const std::exception& e) {
        errors[who] = e.what();
      }
    };
    // Like the GUI: a reader polling while both writers run; it must only ever see whole
    // transactions (an even number of rows: each holds a loss and an lr row).
    std::atomic<bool> writing{true};
    std::string reader_error;
    auto reader = [&] {
      try {
        RunLog log(path);
        size_t last = 0;
        while (writing) {
          size_t n = log.metrics(id).size();
          if (n < last || n % 2 != 0) reader_error = "reader saw " + std::to_string(n) + " rows";
          last = n;
          log.list_runs();
        }
      } catch (const std::exception& e) {
        reader_error = e.what();
      }
    };
    std::thread r(reader), a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    writing = false;
    r.join();
    QVERIFY2(errors[0].empty(), errors[0].c_str());
    QVERIFY2(errors[1].empty(), errors[1].c_str());
    QVERIFY2(reader_error.empty(), reader_error.c_str());
    RunLog log(path);
    QCOMPARE(log.metrics(id).size(), size_t(2 * 2 * kTransactions));
    QCOMPARE(log.events(id).size(), size_t(2 * kTransactions / 10));
    QCOMPARE(log.get_run(id).last_step, int64_t(100000 + kTransactions - 1));
    RawDb raw(path);
    QCOMPARE(raw.text("PRAGMA integrity_check"), std::string("ok"));
  }

  void concurrent_first_open_migrates_once() {
    std::string path = file("fresh_race.sqlite");
    constexpr int kThreads = 4;
    std::string errors[kThreads];
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        try {
          RunLog log(path);
          log.create_run(run_info("t" + std::to_string(t)));
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    for (std::thread& t : threads) t.join();
    for (const std::string& e : errors) QVERIFY2(e.empty(), e.c_str());
    RunLog log(path);
    QCOMPARE(log.list_runs().size(), size_t(kThreads));
    RawDb raw(path);
    QCOMPARE(raw.text("SELECT group_concat(version) FROM schema_version"),
             std::to_string(kRunLogSchemaVersion));
  }

  void unknown_run_id_is_an_error() {
    std::string path = file("unknown.sqlite");
    RunLog log(path);
    std::string err = error_of([&] { log.get_run(424242); });
    QVERIFY2(contains(err, "424242") && contains(err, path), err.c_str());
    QVERIFY(contains(
        error_of([&] { log.log_metrics(424242, {metric(1, "train", "", "loss", 1)}); }), "424242"));
    QVERIFY(contains(error_of([&] { log.set_run_status(424242, "stopped"); }), "424242"));
    QVERIFY(contains(error_of([&] { log.set_checkpoint(424242, "/x", 1); }), "424242"));
    QVERIFY(contains(error_of([&] { log.set_domains(424242, {{"a", 1}}); }), "424242"));
    QVERIFY(contains(error_of([&] { log.log_event(424242, "eval"); }), "424242"));
    RunInfo child = run_info("child");
    child.parent_run_id = 424242;
    QVERIFY(contains(error_of([&] { log.create_run(child); }), "424242"));
    RawDb raw(path);
    QCOMPARE(raw.integer("SELECT COUNT(*) FROM metrics") + raw.integer("SELECT COUNT(*) FROM runs"),
             int64_t(0));  // nothing half-written
  }

  void rejects_bad_status_and_json() {
    RunLog log(file("bad.sqlite"));
    int64_t id = log.create_run(run_info("r"));
    QVERIFY(contains(error_of([&] { log.set_run_status(id, "exploded"); }), "exploded"));
    QVERIFY(contains(error_of([&] { log.log_event(id, "eval", "{oops"); }), "JSON"));
    RunInfo bad = run_info("b");
    bad.config_json = "[1,";
    QVERIFY(contains(error_of([&] { log.create_run(bad); }), "JSON"));
    QCOMPARE(log.get_run(id).status, std::string("running"));
  }

  void exports_and_events_round_trip() {
    RunLog log(file("exports.sqlite"));
    int64_t id = log.create_run(run_info("r"));
    ExportRecord rec;
    rec.run_id = id;
    rec.step = 500;
    rec.domain_weights_json = R"({"arxiv":0.7,"code":0.3})";
    rec.path = "/out/spec.safetensors";
    rec.format = "safetensors";
    rec.losses_json = R"({"arxiv":2.1})";
    rec.created_at = "2025-03-01T10:00:00Z";
    rec.id = log.log_export(rec);
    QVERIFY(rec.id > 0);
    std::vector<ExportRecord> ex = log.exports(id);
    QCOMPARE(ex.size(), size_t(1));
    QCOMPARE(ex[0].id, rec.id);
    QCOMPARE(ex[0].step, rec.step);
    QCOMPARE(ex[0].domain_weights_json, rec.domain_weights_json);
    QCOMPARE(ex[0].path, rec.path);
    QCOMPARE(ex[0].format, rec.format);
    QCOMPARE(ex[0].losses_json, rec.losses_json);
    QCOMPARE(ex[0].created_at, rec.created_at);

    log.log_event(id, "train", R"({"steps": 1000})");
    log.log_event(id, "generate");
    std::vector<EventRecord> ev = log.events(id);
    QCOMPARE(ev.size(), size_t(2));
    QCOMPARE(ev[0].kind, std::string("train"));
    QCOMPARE(ev[0].detail_json, std::string(R"({"steps": 1000})"));
    QCOMPARE(ev[1].detail_json, std::string("{}"));
    QCOMPARE(ev[1].at.size(), size_t(20));
  }

  void marks_runs_of_dead_processes_interrupted() {
    std::string path = file("interrupted.sqlite");
    RunLog log(path);
    int64_t alive = log.create_run(run_info("alive"));  // owned by this process
    int64_t dead = log.create_run(run_info("dead"));
    int64_t done = log.create_run(run_info("done"));
    log.log_metrics(dead, {Metric{5, "train", "", "loss", 1.0, 1700000000.0}});
    log.set_run_status(done, "finished");

    pid_t child = fork();
    if (child == 0) _exit(0);
    QVERIFY(child > 0);
    QCOMPARE(waitpid(child, nullptr, 0), child);  // reaped: the pid is now unused
    {
      RawDb raw(path);
      raw.exec("UPDATE runs SET owner_pid = " + std::to_string(child) + " WHERE id IN (" +
               std::to_string(dead) + "," + std::to_string(done) + ")");
    }
    std::vector<int64_t> marked = log.mark_interrupted_runs();
    QCOMPARE(marked, std::vector<int64_t>{dead});
    QCOMPARE(log.get_run(alive).status, std::string("running"));
    QCOMPARE(log.get_run(done).status, std::string("finished"));
    RunDetails d = log.get_run(dead);
    QCOMPARE(d.status, std::string("interrupted"));
    QCOMPARE(d.ended_at.value_or(""), std::string("2023-11-14T22:13:20Z"));  // last metric
    QCOMPARE(log.events(dead).size(), size_t(1));
    QVERIFY(log.mark_interrupted_runs().empty());  // idempotent

    // Resuming makes this process the owner again.
    log.set_run_status(dead, "running");
    QCOMPARE(log.get_run(dead).owner_pid.value_or(-1), int64_t(getpid()));
  }

  void survives_a_killed_writer() {
    std::string path = file("killed.sqlite");
    { RunLog log(path); }
    pid_t child = fork();
    if (child == 0) {
      // The child writes 10-row transactions until it is killed mid-way through one.
      try {
        RunLog log(path);
        int64_t id = log.create_run(run_info("doomed"));
        for (int64_t step = 0;; ++step) {
          std::vector<Metric> batch;
          for (int d = 0; d < 10; ++d)
            batch.push_back(metric(step, "train", "d" + std::to_string(d), "loss", 1.0));
          log.log_metrics(id, batch);
        }
      } catch (...) {
      }
      _exit(1);
    }
    QVERIFY(child > 0);
    RunLog log(path);
    // Wait on what the kill needs (the run and some committed metrics), with a deadline a busy
    // machine cannot reach (2 minutes), never on a fixed sleep.
    QDeadlineTimer deadline(120000);
    while (log.list_runs().empty() && !deadline.hasExpired()) usleep(2000);
    QCOMPARE(log.list_runs().size(), size_t(1));
    while (log.metrics(log.list_runs()[0].id).size() < 50 && !deadline.hasExpired()) usleep(2000);
    kill(child, SIGKILL);
    int status = 0;
    QCOMPARE(waitpid(child, &status, 0), child);
    QVERIFY(WIFSIGNALED(status));  // killed, not exited with an error

    RawDb raw(path);
    QCOMPARE(raw.text("PRAGMA integrity_check"), std::string("ok"));
    int64_t id = log.list_runs()[0].id;
    size_t rows = log.metrics(id).size();
    QVERIFY(rows >= 10);
    QCOMPARE(rows % 10, size_t(0));  // whole transactions only
    QCOMPARE(log.get_run(id).last_step, static_cast<int64_t>(rows / 10 - 1));
    QCOMPARE(log.mark_interrupted_runs(), std::vector<int64_t>{id});
    QCOMPARE(log.get_run(id).status, std::string("interrupted"));
  }

  void is_movable() {
    RunLog a(file("move.sqlite"));
    int64_t id = a.create_run(run_info("m"));
    RunLog b(std::move(a));
    QCOMPARE(b.get_run(id).name, std::string("m"));
    RunLog c = RunLog::open(file("move2.sqlite"));
    c = std::move(b);
    QCOMPARE(c.list_runs().size(), size_t(1));
    QVERIFY(
        contains(error_of([&] { a.list_runs(); }), "moved"));  // NOLINT(bugprone-use-after-move)
  }
};

QTEST_APPLESS_MAIN(TestRunLog)
#include "test_run_log.moc"
