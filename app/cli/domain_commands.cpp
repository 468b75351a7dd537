// souplab-cli corpus cluster and weights: domains from raw text, and a target's domain weights
// (docs/DESIGN.md §1.5).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "souplab/corpus.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/corpus_cluster.h"
#include "souplab/target_weights.h"

namespace souplab::cli {
namespace {

// "name=0.712345,other=0.287655": what --weights and the explorer's text box take.
std::string weights_argument(const DomainWeights& h) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] <= 0) continue;
    std::snprintf(buf, sizeof buf, "=%.6f", h[i]);
    out += (out.empty() ? "" : ",") + h.names()[i] + buf;
  }
  return out.empty() ? "uniform" : out;
}

void print_weights(const DomainWeights& h, const std::vector<uint64_t>* counts) {
  const std::vector<std::string>& names = h.names();
  std::printf("  %-22s %8s%s\n", "domain", "weight", counts ? "   pieces" : "");
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf("  %-22s %8.3f", names[i].c_str(), h[i]);
    if (counts) std::printf(" %8llu", static_cast<unsigned long long>((*counts)[i]));
    std::printf("\n");
  }
}

}  // namespace

int cmd_corpus_cluster(int argc, char** argv) {
  const ClusterOptions d;
  Args a("corpus cluster", "souplab-cli corpus cluster RAW_DIR --k K --out CORPUS_DIR",
         "Splits a folder of documents with no domain labels into K domains (fewer when clusters\n"
         "under --min-cluster-bytes are dissolved into their neighbours). Documents (files,\n"
         "or form-feed separated parts of one) are cut or grouped into units of about\n"
         "--unit-bytes; each unit is embedded by hashed character n-gram TF-IDF and clustered\n"
         "by k-means (k-means++, restarts; mini-batch when large). Writes one folder per\n"
         "cluster, named by its two most distinctive words (its n-grams where no word stands\n"
         "out), plus clusters.json and\n"
         "centroids.safetensors. When RAW_DIR holds sub-folders, prints the clusters' purity\n"
         "against them (by bytes).");
  a.flag("k", "K", "number of domains (clusters)")
      .flag("out", "DIR", "output corpus folder (must be empty unless --overwrite)")
      .flag("restarts", "N", "k-means++ restarts, the lowest inertia wins", std::to_string(d.restarts))
      .flag("iterations", "N", "k-means passes at most", std::to_string(d.max_iterations))
      .flag("seed", "N", "random seed", "0")
      .flag("mini-batch", "N", "rows per mini-batch (0 = automatic above 50,000 documents)", "0")
      .flag("dim", "N", "embedding dimensions (hash buckets)", std::to_string(d.dim))
      .flag("ngrams", "A-B", "character n-gram sizes", "3-5")
      .flag("unit-bytes", "N", "cluster units of about N bytes (0 = whole documents)", std::to_string(d.unit_bytes))
      .flag("max-doc-bytes", "N", "embed at most N bytes of each unit (0 = all)", "0")
      .flag("max-bytes", "N", "read at most N bytes of RAW_DIR (0 = all)", "0")
      .flag("min-cluster-bytes", "N", "dissolve clusters under N bytes into their nearest neighbours (0 = keep all)",
            std::to_string(d.min_cluster_bytes))
      .option("overwrite", "replace a non-empty output folder")
      .option("json", "print the report as JSON");
  if (!a.parse(argc, argv, 3)) return 0;
  a.no_more_positional(1);
  a.required("k");
  a.required("out");
  ClusterOptions o;
  o.k = int(a.get_int("k", 0));
  o.restarts = int(a.get_int("restarts", o.restarts));
  o.max_iterations = int(a.get_int("iterations", o.max_iterations));
  o.seed = uint64_t(a.get_int("seed", 0));
  o.mini_batch = a.get_int("mini-batch", 0);
  o.dim = a.get_int("dim", o.dim);
  const std::string ngrams = a.get("ngrams", "3-5");
  if (std::sscanf(ngrams.c_str(), "%d-%d", &o.ngram_min, &o.ngram_max) != 2)
    a.usage_error("--ngrams takes A-B, e.g. 3-5, got \"" + ngrams + "\"");
  o.unit_bytes = uint64_t(a.get_int("unit-bytes", int64_t(o.unit_bytes)));
  o.max_doc_bytes = uint64_t(a.get_int("max-doc-bytes", 0));
  o.max_bytes = uint64_t(a.get_int("max-bytes", 0));
  o.min_cluster_bytes = uint64_t(a.get_int("min-cluster-bytes", int64_t(o.min_cluster_bytes)));
  o.overwrite = a.has("overwrite");
  const bool json = a.has("json");
  const ClusterReport r = cluster_corpus(a.positional_at(0, "RAW_DIR"), a.get("out"), o,
                                         [&](const std::string& stage, const std::string& m) {
                                           if (!json) std::fprintf(stderr, "[%s] %s\n", stage.c_str(), m.c_str());
                                         });
  if (json) {
    nlohmann::json j{{"raw_dir", r.raw_dir}, {"out_dir", r.out_dir}, {"documents", r.documents},
                     {"units", r.units}, {"dissolved", r.dissolved},
                     {"bytes", r.bytes}, {"inertia", r.inertia}, {"mini_batch", r.mini_batch},
                     {"seconds", {{"read", r.read_s}, {"embed", r.embed_s}, {"kmeans", r.kmeans_s},
                                  {"write", r.write_s}, {"total", r.total_s}}}};
    for (const auto& c : r.clusters)
      j["clusters"].push_back({{"name", c.name}, {"documents", c.documents}, {"bytes", c.bytes},
                               {"top_ngrams", c.top_ngrams}});
    if (r.purity >= 0) j["purity"] = {{"purity", r.purity}, {"inverse_purity", r.inverse_purity}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%zu documents as %zu units (%.1f MB) from %s -> %d domains in %s\n", r.documents, r.units,
              double(r.bytes) / 1e6, r.raw_dir.c_str(), int(r.clusters.size()), r.out_dir.c_str());
  for (const auto& c : r.clusters) {
    std::printf("  %-24s %7llu docs %9.1f KB  ", c.name.c_str(),
                static_cast<unsigned long long>(c.documents), double(c.bytes) / 1e3);
    for (size_t i = 0; i < c.top_ngrams.size() && i < 6; ++i) std::printf(" \"%s\"", c.top_ngrams[i].c_str());
    std::printf("\n");
  }
  std::printf("time: read %.2f s, embed %.2f s, k-means %.2f s (%s, %d iterations), write %.2f s, total %.2f s\n",
              r.read_s, r.embed_s, r.kmeans_s, r.mini_batch ? "mini-batch" : "Lloyd", r.iterations,
              r.write_s, r.total_s);
  if (r.purity >= 0)
    std::printf("against the sub-folders of %s (by bytes): purity %.4f, inverse purity %.4f\n", r.raw_dir.c_str(),
                r.purity, r.inverse_purity);
  return 0;
}

int cmd_weights(int argc, char** argv) {
  const FitOptions fd;
  Args a("weights", "souplab-cli weights TARGET (--bank CKPT | --corpus DIR) [--method histogram|fit]",
         "Domain weights h for a target: a file or folder of the text you want a specialist for.\n"
         "histogram: share of the target's chunks nearest to each training domain's centroid\n"
         "           (hashed n-gram TF-IDF; centroids stored in the corpus cache on first use);\n"
         "fit:       h minimising the bank's specialist loss on the target (Adam on the logits\n"
         "           of h, bank frozen), printed with that loss and the uniform h's.");
  a.flag("bank", "CKPT", "soup checkpoint (its corpus gives the domains for histogram)")
      .flag("corpus", "DIR", "histogram only: corpus folder instead of a bank's")
      .flag("cache-dir", "DIR", "with --corpus: its token cache folder", "the user's cache dir")
      .flag("method", "M", "histogram | fit", "fit")
      .flag("steps", "N", "fit: Adam steps", std::to_string(fd.steps))
      .flag("lr", "X", "fit: Adam learning rate on the logits of h", "0.1")
      .flag("windows", "N", "fit: context windows taken from the target", std::to_string(fd.max_windows))
      .flag("batch", "N", "fit: windows per step", std::to_string(fd.batch_windows))
      .flag("chunk-bytes", "N", "histogram: target and domain chunk size (0 = whole documents)", "4096")
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", "auto")
      .option("json", "print JSON");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  const std::string target = a.positional_at(0, "TARGET");
  const std::string method = a.get("method", "fit");
  if (method != "histogram" && method != "fit") a.usage_error("--method must be histogram or fit, got \"" + method + "\"");
  if (method == "fit" && !a.has("bank")) a.usage_error("--method fit needs --bank CKPT");
  if (method == "histogram" && !a.has("bank") && !a.has("corpus")) a.usage_error("--bank CKPT or --corpus DIR is required");
  nlohmann::json j{{"target", target}, {"method", method}};
  DomainWeights h;
  if (method == "histogram") {
    std::string corpus = a.get("corpus"), cache_dir = a.get("cache-dir");
    CorpusOptions co;
    if (corpus.empty()) {
      if (!a.has("bank")) throw Error("weights: --bank CKPT or --corpus DIR is required");
      auto bank = Model::load(a.get("bank"), "cpu");
      corpus = bank->facts().corpus_dir;
      cache_dir = bank->facts().cache_dir;
      if (corpus.empty()) throw Error(a.get("bank") + ": no corpus is recorded for this model");
      co.min_domain_tokens = uint64_t(bank->facts().config.model.block_size) + 1;
    }
    co.cache_dir = cache_dir;
    auto cache = TokenCache::open(corpus, co);
    HistogramOptions ho;
    ho.chunk_bytes = uint64_t(a.get_int("chunk-bytes", 4096));
    const TargetHistogram r = histogram_weights(*cache, target, ho);
    if (!r.note.empty()) std::fprintf(stderr, "note: %s\n", r.note.c_str());
    h = r.weights;
    j.update({{"domains", h.names()}, {"weights", h.values()}, {"counts", r.counts}, {"pieces", r.pieces},
              {"centroids", r.centroids_path}, {"centroids_reused", r.centroids_reused},
              {"seconds", r.seconds}});
    if (!a.has("json")) {
      std::printf("%s: %llu pieces, nearest-centroid histogram over %zu domains (%.2f s; centroids %s %s)\n",
                  target.c_str(), static_cast<unsigned long long>(r.pieces), h.size(), r.seconds,
                  r.centroids_reused ? "reused from" : "computed, stored in",
                  r.centroids_path.empty() ? "-" : r.centroids_path.c_str());
      print_weights(h, &r.counts);
    }
  } else if (method == "fit") {
    if (!a.has("bank")) throw Error("weights: --method fit needs --bank CKPT");
    FitOptions fo;
    fo.steps = int(a.get_int("steps", fo.steps));
    fo.lr = a.get_double("lr", fo.lr);
    fo.max_windows = int(a.get_int("windows", fo.max_windows));
    fo.batch_windows = int(a.get_int("batch", fo.batch_windows));
    const FitResult r = Model::load(a.get("bank"), a.get("device", "auto"))->fit_weights(target, fo);
    h = r.h;
    j.update({{"domains", h.names()}, {"weights", h.values()}, {"loss", r.loss}, {"uniform_loss", r.uniform_loss},
              {"windows", r.windows}, {"window_tokens", r.window_tokens}, {"steps", r.steps},
              {"trace", r.trace}, {"seconds", r.seconds}});
    if (!a.has("json")) {
      std::printf("%s: h fitted through %s on %d windows of %d bytes, %d Adam steps (%.1f s)\n",
                  target.c_str(), a.get("bank").c_str(), r.windows, r.window_tokens, r.steps, r.seconds);
      print_weights(h, nullptr);
      std::printf("  loss on the target: %.4f at this h, %.4f at uniform h\n", r.loss, r.uniform_loss);
    }
  } else {
    throw Error("weights: --method must be histogram or fit, got \"" + method + "\"");
  }
  j["weights_argument"] = weights_argument(h);
  if (a.has("json"))
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    std::printf("  --weights %s\n", weights_argument(h).c_str());
  return 0;
}

}  // namespace souplab::cli
