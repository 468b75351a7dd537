// compare_models: the comparison table of post-hoc methods, soups and baselines.
#include "souplab/compare.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab {
namespace {

struct Spec {
  std::string path, weights;  // weights empty = per column
};

Spec split_spec(const std::string& s) {
  // "@" followed by a weights text; paths with '@' are rare but allowed when the suffix is not h.
  const size_t at = s.rfind('@');
  if (at == std::string::npos || at == 0 || std::filesystem::exists(s)) return {s, ""};
  return {s.substr(0, at), s.substr(at + 1)};
}

std::string label_of(const std::string& path) {
  std::filesystem::path p(path);
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();
  if (p.extension() == ".ckpt" && p.has_parent_path()) name = p.parent_path().filename().string() + "/" + name;
  return name;
}

}  // namespace

CompareResult compare_models(const std::vector<std::string>& models, const CompareOptions& o) {
  if (models.empty()) throw Error("compare: no models given");
  CompareResult res;
  std::vector<std::shared_ptr<const Model>> banks;
  std::vector<Spec> specs;
  for (const auto& m : models) {
    specs.push_back(split_spec(m));
    banks.push_back(Model::load(specs.back().path, o.device));
  }
  std::shared_ptr<const ValidationSet> val;
  if (!o.corpus_dir.empty()) {
    val = ValidationSet::from_corpus(o.corpus_dir, o.cache_dir, banks[0]->facts().config.model.block_size,
                                     o.windows);
  } else {
    for (const auto& b : banks)
      if (!b->facts().corpus_dir.empty()) {
        val = ValidationSet::for_model(b->facts(), o.windows);
        break;
      }
  }
  if (!val) throw Error("compare: none of the models records a corpus; give the corpus folder");
  res.domains = val->domains();
  const size_t k = res.domains.size();
  for (const auto& t : o.targets) res.targets.push_back({t, DomainWeights::parse(t, res.domains)});
  const size_t total = banks.size();
  for (size_t i = 0; i < banks.size(); ++i) {
    if (o.cancelled && o.cancelled()) throw Error("cancelled");
    const Model& model = *banks[i];
    const ModelFacts& f = model.facts();
    if (o.on_progress) o.on_progress(i, total, label_of(specs[i].path));
    if (!f.domains.empty() && f.domains != res.domains)
      throw Error(specs[i].path + ": its domains differ from those of the validation corpus");
    if (f.config.model.block_size < val->block_size())
      throw Error(specs[i].path + ": its context is shorter than the validation windows");
    CompareRow row;
    row.spec = models[i];
    row.label = label_of(specs[i].path) + (specs[i].weights.empty() ? "" : "@" + specs[i].weights);
    row.kind = f.kind;
    // Losses of the model at h, cached by h (most models ignore h: one evaluation).
    std::map<std::vector<double>, std::vector<double>> cache;
    const ModelCapabilities can = model.capabilities();
    const bool uses_h = can.has_domains && can.can_instantiate;
    const DomainWeights fixed =
        uses_h && !specs[i].weights.empty() ? model.parse_weights(specs[i].weights) : DomainWeights();
    auto losses_at = [&](const DomainWeights& column) -> const std::vector<double>& {
      const DomainWeights h = !uses_h ? DomainWeights() : !fixed.empty() ? fixed : column;
      auto it = cache.find(h.values());
      if (it == cache.end()) it = cache.emplace(h.values(), model.instantiate(h)->evaluate(*val)).first;
      return it->second;
    };
    for (size_t d = 0; d < k; ++d) row.domain_loss.push_back(losses_at(DomainWeights::one_hot(res.domains, d))[d]);
    for (const auto& t : res.targets) {
      const auto& l = losses_at(t.h);
      double s = 0;
      for (size_t d = 0; d < k; ++d) s += t.h[d] * l[d];
      row.target_loss.push_back(s);
    }
    res.rows.push_back(std::move(row));
  }
  if (o.on_progress) o.on_progress(total, total, "done");
  return res;
}

std::string compare_markdown(const CompareResult& r) {
  std::string out = "| model | kind |";
  std::string rule = "|---|---|";
  for (const auto& d : r.domains) out += " " + d + " |", rule += "---:|";
  for (const auto& t : r.targets) out += " " + t.name + " |", rule += "---:|";
  out += "\n" + rule + "\n";
  char buf[32];
  for (const auto& row : r.rows) {
    out += "| " + row.label + " | " + model_kind_name(row.kind) + " |";
    for (double v : row.domain_loss) std::snprintf(buf, sizeof buf, " %.4f |", v), out += buf;
    for (double v : row.target_loss) std::snprintf(buf, sizeof buf, " %.4f |", v), out += buf;
    out += "\n";
  }
  return out;
}

}  // namespace souplab
