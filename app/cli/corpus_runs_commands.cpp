// souplab-cli corpus build|info|demo and runs list|show.
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "app/cli/progress_bar.h"
#include "souplab/corpus.h"
#include "souplab/demo_corpus.h"
#include "souplab/error.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"

namespace souplab::cli {
namespace {

// Names and paths are the user's bytes: invalid UTF-8 is replaced rather than failing the dump.
void print_json(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_corpus(const TokenCache& c) {
  std::printf("corpus %s\ncache  %s\nhash   %s\n", c.corpus_dir().c_str(), c.cache_dir().c_str(),
              c.content_hash().c_str());
  std::printf("  %-22s %10s %14s %12s\n", "domain", "documents", "train bytes", "val bytes");
  uint64_t tr = 0, va = 0;
  for (const auto& d : c.domains()) {
    std::printf("  %-22s %10llu %14llu %12llu\n", d.name.c_str(),
                static_cast<unsigned long long>(d.documents),
                static_cast<unsigned long long>(d.train_tokens),
                static_cast<unsigned long long>(d.val_tokens));
    tr += d.train_tokens;
    va += d.val_tokens;
  }
  std::printf("  %-22s %10s %14llu %12llu\n", "total", "", static_cast<unsigned long long>(tr),
              static_cast<unsigned long long>(va));
}

}  // namespace

int cmd_corpus(int argc, char** argv) {
  if (argc > 2 && std::string(argv[2]) == "cluster") return cmd_corpus_cluster(argc, argv);
  Args a("corpus", "souplab-cli corpus build|info DIR | corpus demo [--out DIR]",
         "build: tokenise DIR (a folder of domain folders) into the cache, or reuse it if the\n"
         "       sources did not change; info: the same, then print the domains;\n"
         "demo:  build the demo corpus from text installed on this machine.");
  a.flag("cache-dir", "DIR", "token cache folder", "the user's cache dir")
      .flag("val-fraction", "X", "share of each domain's documents held out", "0.01")
      .flag("max-domain-bytes", "N", "read at most N bytes per domain (0 = all)", "0")
      .flag("out", "DIR", "demo: where to build it", "<data dir>/demo-corpus");
  if (!a.parse(argc, argv, 2)) return 0;
  const std::string action = a.positional_at(0, "build, info or demo");
  if (action == "demo") {
    a.no_more_positional(1);
    const std::string out = a.get("out", default_demo_corpus_dir());
    const DemoCorpusReport r = build_demo_corpus(out, {}, [](size_t i, size_t n, const std::string& m) {
      std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, n, m.c_str());
    });
    for (const auto& note : r.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    std::printf("demo corpus in %s: %zu domains\n", out.c_str(), r.kept_domains());
    for (const auto& d : r.domains)
      if (d.kept)
        std::printf("  %-18s %8llu documents %10llu bytes  (%s)\n", d.name.c_str(),
                    static_cast<unsigned long long>(d.documents),
                    static_cast<unsigned long long>(d.bytes), d.description.c_str());
    return 0;
  }
  if (action != "build" && action != "info")
    a.usage_error("unknown action \"" + action + "\" (expected build, info, demo or cluster)");
  a.no_more_positional(2);
  CorpusOptions o;
  o.cache_dir = a.get("cache-dir");
  o.val_fraction = a.get_double("val-fraction", o.val_fraction);
  o.max_domain_bytes = uint64_t(a.get_int("max-domain-bytes", 0));
  auto cache = TokenCache::open(a.positional_at(1, "DIR"), o, [](size_t i, size_t n, const std::string& m) {
    std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, n, m.c_str());
  });
  print_corpus(*cache);
  return 0;
}

int cmd_runs(int argc, char** argv) {
  Args a("runs", "souplab-cli runs list [--json] | runs show ID [--json]",
         "The run log: every train, resume, eval and export.");
  a.flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("json", "print JSON instead of text");
  if (!a.parse(argc, argv, 2)) return 0;
  const std::string action = a.positional_at(0, "list or show");
  if (action != "list" && action != "show") a.usage_error("unknown action \"" + action + "\" (expected list or show)");
  a.no_more_positional(action == "list" ? 1 : 2);
  long long id = 0;
  if (action == "show") {
    const std::string id_text = a.positional_at(1, "ID");
    char* end = nullptr;
    id = std::strtoll(id_text.c_str(), &end, 10);
    if (id_text.empty() || *end) a.usage_error("\"" + id_text + "\" is not a run id");
  }
  const bool json = a.has("json");
  RunLog log(a.get("run-log").empty() ? default_run_log_path() : a.get("run-log"));
  if (action == "list") {
    if (json) {
      nlohmann::json runs = nlohmann::json::array();
      for (const auto& r : log.list_runs())
        runs.push_back({{"id", r.id}, {"name", r.name}, {"kind", r.kind}, {"status", r.status},
                        {"last_step", r.last_step},
                        {"best_val_loss", r.best_val_loss ? nlohmann::json(*r.best_val_loss) : nlohmann::json()},
                        {"started_at", r.started_at},
                        {"ended_at", r.ended_at ? nlohmann::json(*r.ended_at) : nlohmann::json()},
                        {"checkpoint", r.checkpoint_path},
                        {"parent_run_id", r.parent_run_id ? nlohmann::json(*r.parent_run_id) : nlohmann::json()}});
      print_json(runs);
      return 0;
    }
    std::printf("%5s  %-28s %-6s %-11s %8s %10s  %s\n", "id", "name", "kind", "status", "step",
                "best val", "started");
    for (const auto& r : log.list_runs()) {
      char best[32] = "-";
      if (r.best_val_loss) std::snprintf(best, sizeof best, "%.4f", *r.best_val_loss);
      std::printf("%5lld  %-28.28s %-6s %-11s %8lld %10s  %s\n", static_cast<long long>(r.id),
                  r.name.c_str(), r.kind.c_str(), r.status.c_str(),
                  static_cast<long long>(r.last_step), best, r.started_at.c_str());
    }
    return 0;
  }
  const RunDetails r = log.get_run(id);
  // The last validation losses per domain.
  const auto metrics = log.metrics(id);
  int64_t last_val = -1;
  for (const auto& m : metrics)
    if (m.split == "val") last_val = m.step;
  if (json) {
    nlohmann::json config = nlohmann::json::parse(r.config_json, nullptr, false);  // a string if it is not JSON
    if (config.is_discarded()) config = r.config_json;
    nlohmann::json j{{"id", id}, {"name", r.name}, {"kind", r.kind}, {"status", r.status},
                     {"started_at", r.started_at}, {"ended_at", r.ended_at ? nlohmann::json(*r.ended_at) : nlohmann::json()},
                     {"last_step", r.last_step}, {"checkpoint", r.checkpoint_path},
                     {"parent_run_id", r.parent_run_id ? nlohmann::json(*r.parent_run_id) : nlohmann::json()},
                     {"config", config}};
    j["domains"] = nlohmann::json::array();
    for (const auto& d : log.domains(id)) j["domains"].push_back(d.name);
    j["validation"] = nlohmann::json::array();
    for (const auto& m : metrics)
      if (m.split == "val" && m.step == last_val)
        j["validation"].push_back({{"step", m.step}, {"domain", m.domain}, {"name", m.name}, {"value", m.value}});
    j["events"] = nlohmann::json::array();
    for (const auto& e : log.events(id)) {
      nlohmann::json detail = nlohmann::json::parse(e.detail_json, nullptr, false);
      if (detail.is_discarded()) detail = e.detail_json;
      j["events"].push_back({{"kind", e.kind}, {"at", e.at}, {"detail", detail}});
    }
    j["exports"] = nlohmann::json::array();
    for (const auto& e : log.exports(id)) {
      nlohmann::json h = nlohmann::json::parse(e.domain_weights_json, nullptr, false);
      if (h.is_discarded()) h = e.domain_weights_json;
      j["exports"].push_back({{"path", e.path}, {"format", e.format}, {"domain_weights", h}});
    }
    print_json(j);
    return 0;
  }
  std::printf("run %lld: %s\n  kind       %s\n  status     %s\n  started    %s\n  ended      %s\n"
              "  last step  %lld\n  checkpoint %s\n",
              id, r.name.c_str(), r.kind.c_str(), r.status.c_str(), r.started_at.c_str(),
              r.ended_at.value_or("-").c_str(), static_cast<long long>(r.last_step),
              r.checkpoint_path.empty() ? "-" : r.checkpoint_path.c_str());
  if (r.parent_run_id) std::printf("  parent     %lld\n", static_cast<long long>(*r.parent_run_id));
  std::printf("  domains   ");
  for (const auto& d : log.domains(id)) std::printf(" %s", d.name.c_str());
  std::printf("\n  config     %s\n", r.config_json.c_str());
  if (last_val >= 0) {
    std::printf("  validation at step %lld:\n", static_cast<long long>(last_val));
    for (const auto& m : metrics)
      if (m.split == "val" && m.step == last_val)
        std::printf("    %-20s %-16s %.4f\n", m.domain.c_str(), m.name.c_str(), m.value);
  }
  for (const auto& e : log.events(id))
    std::printf("  event %-10s %s %s\n", e.kind.c_str(), e.at.c_str(), e.detail_json.c_str());
  for (const auto& e : log.exports(id))
    std::printf("  export %s (%s) h=%s\n", e.path.c_str(), e.format.c_str(), e.domain_weights_json.c_str());
  return 0;
}

}  // namespace souplab::cli
