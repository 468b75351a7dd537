#include "souplab/corpus_cluster.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/core/raw_documents.h"
#include "engine/core/safetensors.h"
#include "engine/nn/kmeans.h"
#include "engine/nn/text_embedding.h"

namespace souplab {
namespace fs = std::filesystem;
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Length of the valid UTF-8 character at s[i] (1 for ASCII), 0 if the bytes there are not one.
size_t utf8_length_at(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >> 4) == 0xE ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t j = 1; j < len; ++j)
    if ((static_cast<unsigned char>(s[i + j]) & 0xC0) != 0x80) return 0;
  if (len == 3 && c == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) return 0;  // surrogates
  if (len == 3 && c == 0xE0 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return 0;   // overlong
  if (len == 4 && c == 0xF0 && static_cast<unsigned char>(s[i + 1]) < 0x90) return 0;
  return len;
}

// For display and JSON: valid UTF-8 kept, control bytes and bytes that are not (whole) UTF-8
// characters written as \xNN.
std::string escaped(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = utf8_length_at(s, i);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (len == 0 || c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.append(s, i, len);
      i += len;
      continue;
    }
    i += 1;
  }
  return out;
}

// An n-gram that starts and ends on UTF-8 character boundaries (next: the byte after it, if any).
bool whole_characters(const uint8_t* p, int n, int next) {
  return (p[0] & 0xC0) != 0x80 && (next < 0 || (next & 0xC0) != 0x80) && n > 0;
}

// Words (ASCII letters and digits lower-cased, non-ASCII characters kept) of the first readable
// n-grams: "def_self", "für_über".
std::string slug(const std::vector<std::string>& ngrams) {
  std::string out;
  int words = 0;
  for (const auto& g : ngrams) {
    std::string word;
    for (size_t i = 0; i < g.size();) {
      const unsigned char c = static_cast<unsigned char>(g[i]);
      const size_t len = utf8_length_at(g, i);
      if (len == 1 && std::isalnum(c)) word += char(std::tolower(c));
      else if (len > 1) word.append(g, i, len);  // a letter of another script, kept whole
      else if (!word.empty()) break;
      i += len ? len : 1;
    }
    if (word.size() < 2 || out.find(word) != std::string::npos) continue;
    out += (out.empty() ? "" : "_") + word;
    if (++words == 2 || out.size() > 16) break;
  }
  return out.empty() ? "cluster" : out;
}

// The n-grams behind each cluster's most characteristic buckets: buckets where its centre most
// exceeds the mean of the other centres, named by the string that fills them most often in a
// sample of the cluster's documents.
std::vector<std::string> characteristic_ngrams(const RawDocuments& raw,
                                               const std::vector<RawDocuments::Doc>& pieces,
                                               const std::vector<int>& members,
                                               const torch::Tensor& centres, int c,
                                               const TextEmbeddingOptions& eo, int top) {
  const int64_t k = centres.size(0);
  auto others = k > 1 ? (centres.sum(0) - centres[c]) / double(k - 1) : torch::zeros_like(centres[c]);
  auto score = centres[c] - others;
  auto top_buckets = std::get<1>(score.topk(std::min<int64_t>(3 * top, score.numel())));
  std::vector<int> rank_of(size_t(eo.dim), -1);
  for (int64_t i = 0; i < top_buckets.numel(); ++i) rank_of[size_t(top_buckets[i].item<int64_t>())] = int(i);
  std::vector<std::unordered_map<std::string, int>> seen(size_t(top_buckets.numel()));
  uint64_t scanned = 0;
  for (int d : members) {
    const auto& doc = pieces[size_t(d)];
    const auto* p = reinterpret_cast<const uint8_t*>(raw.buffer.data() + doc.offset);
    const uint64_t size = std::min<uint64_t>(doc.size, 64 * 1024);
    for (int n = eo.ngram_min; n <= eo.ngram_max; ++n)
      for (uint64_t s = 0; s + uint64_t(n) <= size; ++s) {
        const int r = rank_of[size_t(ngram_bucket(p + s, n, eo.dim))];
        if (r >= 0 && whole_characters(p + s, n, s + uint64_t(n) < size ? p[s + uint64_t(n)] : -1)) ++seen[size_t(r)][std::string(reinterpret_cast<const char*>(p + s), size_t(n))];
      }
    if ((scanned += size) > (1u << 20)) break;
  }
  std::vector<std::string> out;
  for (const auto& m : seen) {
    if (m.empty()) continue;
    auto best = std::max_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second < b.second : a.first.size() < b.first.size();
    });
    bool dup = false;
    for (const auto& o : out) dup |= o.find(best->first) != std::string::npos || best->first.find(o) != std::string::npos;
    if (!dup) out.push_back(best->first);
    if (int(out.size()) == top) break;
  }
  return out;
}

// Each cluster's two most distinctive words: lower-cased runs of letters (any script) of at
// least 3 characters, in a sample of up to 1 MB of the cluster's text, scored by how much more
// often the cluster uses them than the other clusters do (smoothed log ratio of rates, times the
// square root of the count, so a word must be both frequent here and rare elsewhere). Names by
// n-grams alone gave several clusters of English prose "..._th_the"; words tell "darcy_elizabeth"
// from "congress_america" (tests/nn/test_domains.cpp, clustersAreNamedByTheirWords).
std::vector<std::vector<std::string>> distinctive_words(const RawDocuments& raw,
                                                        const std::vector<RawDocuments::Doc>& pieces,
                                                        const std::vector<std::vector<int>>& members) {
  const size_t k = members.size();
  std::vector<std::unordered_map<std::string, double>> counts(k);
  std::vector<double> totals(k, 0.0);
  for (size_t c = 0; c < k; ++c) {
    uint64_t scanned = 0;
    for (int d : members[c]) {
      const auto& doc = pieces[size_t(d)];
      const std::string text = raw.buffer.substr(size_t(doc.offset), size_t(std::min<uint64_t>(doc.size, 64 * 1024)));
      std::string word;
      size_t letters = 0;
      auto flush = [&] {
        if (letters >= 3 && letters <= 24) {
          counts[c][word] += 1;
          totals[c] += 1;
        }
        word.clear();
        letters = 0;
      };
      for (size_t i = 0; i < text.size();) {
        const unsigned char ch = static_cast<unsigned char>(text[i]);
        const size_t len = utf8_length_at(text, i);
        if (len == 1 && std::isalpha(ch)) {
          word += char(std::tolower(ch));
          ++letters;
        } else if (len > 1) {  // a letter of another script (or a symbol): kept whole
          word.append(text, i, len);
          ++letters;
        } else {
          flush();
        }
        i += len ? len : 1;
      }
      flush();
      if ((scanned += text.size()) > (1u << 20)) break;
    }
  }
  std::unordered_map<std::string, double> all;
  double all_total = 0;
  for (size_t c = 0; c < k; ++c) {
    for (const auto& [w, n] : counts[c]) all[w] += n;
    all_total += totals[c];
  }
  std::vector<std::vector<std::string>> out(k);
  for (size_t c = 0; c < k; ++c) {
    std::vector<std::pair<double, std::string>> scored;
    const double rest_total = std::max(1.0, all_total - totals[c]);
    for (const auto& [w, n] : counts[c]) {
      if (n < 3) continue;
      const double here = n / std::max(1.0, totals[c]), elsewhere = (all[w] - n + 0.5) / rest_total;
      scored.emplace_back(std::log(here / elsewhere) * std::sqrt(n), w);
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (const auto& [score, w] : scored) {
      if (score <= 0 || out[c].size() == 2) break;
      out[c].push_back(w);
    }
  }
  return out;
}

void prepare_out_dir(const std::string& raw_dir, const std::string& out_dir, bool overwrite) {
  std::error_code ec;
  const fs::path raw = fs::weakly_canonical(raw_dir, ec), out = fs::weakly_canonical(out_dir, ec);
  const auto rel = out.lexically_relative(raw);
  if (!rel.empty() && *rel.begin() != "..")
    throw file_error(out_dir, "the output folder lies inside the raw folder " + raw_dir);
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) throw file_error(out_dir, "exists and is not a folder");
    if (!fs::is_empty(out_dir, ec)) {
      if (!overwrite) throw file_error(out_dir, "output folder is not empty (use --overwrite)");
      fs::remove_all(out_dir, ec);
      if (ec) throw file_error(out_dir, "cannot remove: " + ec.message());
    }
  }
  fs::create_directories(out_dir, ec);
  if (ec) throw file_error(out_dir, "cannot create folder: " + ec.message());
}

}  // namespace

double cluster_purity(const std::vector<int>& clusters, const std::vector<int>& labels,
                      const std::vector<double>& weights) {
  if (clusters.empty() || clusters.size() != labels.size()) return -1;
  if (!weights.empty() && weights.size() != clusters.size()) return -1;
  std::map<int, std::map<int, double>> table;
  double total = 0;
  for (size_t i = 0; i < clusters.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    table[clusters[i]][labels[i]] += w;
    total += w;
  }
  double agree = 0;
  for (const auto& [c, row] : table) {
    double best = 0;
    for (const auto& [l, n] : row) best = std::max(best, n);
    agree += best;
  }
  return total > 0 ? agree / total : -1;
}

// Dissolves clusters under min_bytes, smallest first: each of their units joins the nearest centre
// still standing. Returns the number dissolved; labels are renumbered 0..k'-1 in the old order
// and centroids become the means of their (new) members.
int dissolve_small_clusters(const torch::Tensor& x, torch::Tensor& labels, torch::Tensor& centroids,
                            const std::vector<uint64_t>& unit_bytes, uint64_t min_bytes) {
  const int64_t k = centroids.size(0), n = labels.size(0);
  if (min_bytes == 0 || k < 2) return 0;
  labels = labels.contiguous().clone();
  int64_t* lp = labels.data_ptr<int64_t>();
  std::vector<uint64_t> bytes(size_t(k), 0);
  for (int64_t u = 0; u < n; ++u) bytes[size_t(lp[u])] += unit_bytes[size_t(u)];
  // Squared distances of every unit to every centre, once: (n, k).
  const torch::Tensor d = ((x * x).sum(1, true) - 2 * torch::mm(x, centroids.t()) + (centroids * centroids).sum(1).unsqueeze(0))
                              .contiguous();
  const float* dp = d.data_ptr<float>();
  std::vector<bool> alive(size_t(k), true);
  int dissolved = 0, left = int(k);
  while (left > 1) {
    int64_t smallest = -1;
    for (int64_t c = 0; c < k; ++c)
      if (alive[size_t(c)] && bytes[size_t(c)] < min_bytes && (smallest < 0 || bytes[size_t(c)] < bytes[size_t(smallest)]))
        smallest = c;
    if (smallest < 0) break;
    alive[size_t(smallest)] = false;
    ++dissolved, --left;
    for (int64_t u = 0; u < n; ++u) {
      if (lp[u] != smallest) continue;
      int64_t best = -1;
      for (int64_t c = 0; c < k; ++c)
        if (alive[size_t(c)] && (best < 0 || dp[u * k + c] < dp[u * k + best])) best = c;
      lp[u] = best;
      bytes[size_t(best)] += unit_bytes[size_t(u)];
    }
    bytes[size_t(smallest)] = 0;
  }
  if (dissolved == 0) return 0;
  std::vector<int64_t> renumber(size_t(k), -1);
  int64_t next = 0;
  for (int64_t c = 0; c < k; ++c)
    if (alive[size_t(c)]) renumber[size_t(c)] = next++;
  for (int64_t u = 0; u < n; ++u) lp[u] = renumber[size_t(lp[u])];
  auto sums = torch::zeros({next, x.size(1)}, x.options()).index_add_(0, labels, x);
  auto counts = torch::zeros({next}, x.options()).index_add_(0, labels, torch::ones({n}, x.options()));
  centroids = sums / counts.clamp_min(1).unsqueeze(1);
  return dissolved;
}

ClusterReport cluster_corpus(const std::string& raw_dir, const std::string& out_dir,
                             const ClusterOptions& o, const ClusterProgress& progress) {
  const auto t_start = std::chrono::steady_clock::now();
  auto say = [&](const std::string& stage, const std::string& m) { if (progress) progress(stage, m); };
  if (o.k < 2) throw Error("corpus cluster: k must be at least 2, got " + std::to_string(o.k));
  if (out_dir.empty()) throw Error("corpus cluster: no output folder given");
  torch::NoGradGuard no_grad;
  ClusterReport rep;
  rep.raw_dir = raw_dir;
  rep.out_dir = out_dir;

  say("read", "reading " + raw_dir);
  auto t0 = std::chrono::steady_clock::now();
  const RawDocuments raw = read_raw_documents(raw_dir, o.max_bytes);
  rep.documents = raw.docs.size();
  rep.bytes = raw.buffer.size();
  if (raw.docs.size() < 2)
    throw file_error(raw_dir, "holds " + std::to_string(raw.docs.size()) +
                                  " document; clustering needs at least 2");
  // Units: pieces of documents cut/grouped to about unit_bytes; unit u is pieces[starts[u]..).
  const std::vector<RawDocuments::Doc> pieces = chunk_documents(raw, o.unit_bytes);
  const std::vector<size_t> starts = pack_pieces(pieces, o.unit_bytes);
  const size_t n_units = starts.size() - 1;
  rep.units = n_units;
  if (size_t(o.k) > n_units)
    throw file_error(raw_dir, "holds " + std::to_string(raw.docs.size()) + " documents in " +
                                  std::to_string(n_units) + " units of text, fewer than k = " +
                                  std::to_string(o.k) + " clusters" +
                                  (o.unit_bytes ? " (try a smaller --unit-bytes)" : ""));
  prepare_out_dir(raw_dir, out_dir, o.overwrite);
  rep.read_s = seconds_since(t0);

  say("embed", "embedding " + std::to_string(raw.docs.size()) + " documents as " +
                   std::to_string(n_units) + " units");
  t0 = std::chrono::steady_clock::now();
  TextEmbeddingOptions eo;
  eo.dim = o.dim;
  eo.ngram_min = o.ngram_min;
  eo.ngram_max = o.ngram_max;
  eo.max_doc_bytes = o.max_doc_bytes;
  std::vector<TextPiece> unit_text;  // a unit's pieces are contiguous in the buffer
  unit_text.reserve(n_units);
  for (size_t u = 0; u < n_units; ++u) {
    const auto& first = pieces[starts[u]];
    const auto& last = pieces[starts[u + 1] - 1];
    unit_text.push_back({reinterpret_cast<const uint8_t*>(raw.buffer.data() + first.offset),
                         last.offset + last.size - first.offset});
    rep.unit_bytes.push_back(unit_text.back().size);
  }
  torch::Tensor x = hashed_ngram_counts(unit_text, eo);  // (units, dim)
  const torch::Tensor idf = idf_weights(x);
  tfidf_(x, idf);
  rep.embed_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  KMeansOptions ko;
  ko.k = o.k;
  ko.restarts = o.restarts;
  ko.max_iterations = o.max_iterations;
  ko.seed = o.seed;
  ko.mini_batch = o.mini_batch;
  ko.progress = [&](int r, int n, const std::string& m) { say("kmeans", m + " of " + std::to_string(n)); (void)r; };
  const KMeansResult km = kmeans(x, ko);
  rep.inertia = km.inertia;
  rep.mini_batch = km.mini_batch;
  rep.iterations = km.iterations;
  torch::Tensor labels = km.labels, centres = km.centroids;
  rep.dissolved = dissolve_small_clusters(x, labels, centres, rep.unit_bytes, o.min_cluster_bytes);
  if (rep.dissolved > 0)
    say("kmeans", std::to_string(rep.dissolved) + " clusters under " + std::to_string(o.min_cluster_bytes) +
                      " bytes given to their nearest neighbours");
  const int k = int(centres.size(0));
  rep.kmeans_s = seconds_since(t0);
  x = torch::Tensor();  // free the embeddings before writing

  say("write", "writing " + out_dir);
  t0 = std::chrono::steady_clock::now();
  labels = labels.contiguous();
  const int64_t* lp = labels.data_ptr<int64_t>();
  rep.assignment.assign(lp, lp + labels.numel());
  std::vector<std::vector<int>> members(static_cast<size_t>(k));  // pieces of each cluster, in reading order
  for (size_t u = 0; u < n_units; ++u)
    for (size_t i = starts[u]; i < starts[u + 1]; ++i) members[size_t(rep.assignment[u])].push_back(int(i));
  centres = centres.contiguous();
  const auto words = distinctive_words(raw, pieces, members);
  nlohmann::json clusters = nlohmann::json::array();
  for (int c = 0; c < k; ++c) {
    ClusterInfo info;
    const auto grams = characteristic_ngrams(raw, pieces, members[size_t(c)], centres, c, eo, o.top_ngrams);
    for (const auto& g : grams) info.top_ngrams.push_back(escaped(g));
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02d_", c);
    // Named by its distinctive words; by its n-grams where too few words stand out (code, tables).
    info.name = prefix + (words[size_t(c)].size() == 2 ? slug(words[size_t(c)]) : slug(grams));
    std::string text;
    for (int d : members[size_t(c)]) {
      const auto& doc = pieces[size_t(d)];
      text.append(raw.buffer, size_t(doc.offset), size_t(doc.size));
      if (text.empty() || text.back() != '\n') text += '\n';
      text += "\f\n";
      info.documents += 1;
      info.bytes += doc.size;
    }
    const std::string dir = out_dir + "/" + info.name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw file_error(dir, "cannot create folder: " + ec.message());
    write_file_atomically(dir + "/data.txt", text);
    clusters.push_back({{"name", info.name}, {"documents", info.documents}, {"bytes", info.bytes},
                        {"top_ngrams", info.top_ngrams}});
    rep.clusters.push_back(std::move(info));
  }
  nlohmann::json meta{{"raw_dir", raw_dir}, {"documents", rep.documents}, {"bytes", rep.bytes},
                      {"units", n_units}, {"unit_bytes", o.unit_bytes},
                      {"k", k}, {"k_asked", o.k}, {"min_cluster_bytes", o.min_cluster_bytes},
                      {"seed", o.seed}, {"restarts", o.restarts},
                      {"embedding", eo.describe()}, {"inertia", rep.inertia}, {"clusters", clusters}};
  write_file_atomically(out_dir + "/clusters.json",
                        meta.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  const torch::Tensor idf_c = idf.contiguous();
  std::vector<std::string> names;
  for (const auto& c : rep.clusters) names.push_back(c.name);
  write_safetensors(out_dir + "/centroids.safetensors",
                    {{"centroids", DType::kF32, {centres.size(0), centres.size(1)}, centres.data_ptr<float>()},
                     {"idf", DType::kF32, {idf_c.size(0)}, idf_c.data_ptr<float>()}},
                    {{"embedding", eo.describe()}, {"domains", nlohmann::json(names).dump()}});
  rep.write_s = seconds_since(t0);

  // Measured against the raw folder's own sub-folders, when it has them (text at its top level,
  // e.g. a README, is left out of the measure). A unit never spans files, so it has one folder.
  std::map<std::string, int> folder_ids;
  std::vector<int> folder_of, cluster_of;
  std::vector<double> weight_of;
  for (size_t u = 0; u < n_units; ++u) {
    const std::string f = raw.top_folder(pieces[starts[u]]);
    rep.unit_labels.push_back(f);
    if (f.empty()) continue;
    folder_of.push_back(folder_ids.emplace(f, int(folder_ids.size())).first->second);
    cluster_of.push_back(rep.assignment[u]);
    weight_of.push_back(double(rep.unit_bytes[u]));
  }
  if (folder_ids.size() >= 2) {
    rep.purity = cluster_purity(cluster_of, folder_of, weight_of);
    rep.inverse_purity = cluster_purity(folder_of, cluster_of, weight_of);
  }
  rep.total_s = seconds_since(t_start);
  return rep;
}

}  // namespace souplab
