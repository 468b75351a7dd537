// What every Model shares: weights over its domains, and the operations a kind offers only when
// its capabilities say so (the defaults below refuse with the reason).
#include "souplab/model.h"

#include <algorithm>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "souplab/validation_set.h"
#include "engine/export/logged_export.h"
#include "engine/nn/runner.h"

namespace souplab {

DomainWeights Model::weights(const std::vector<double>& h) const { return DomainWeights(h, facts().domains); }

DomainWeights Model::parse_weights(const std::string& text) const { return DomainWeights::parse(text, facts().domains); }

DomainWeights Model::reference_weights() const {
  return facts().domains.empty() ? DomainWeights() : DomainWeights::uniform(facts().domains);
}

DomainWeights Model::resolve(const DomainWeights& h) const {
  if (h.empty()) return reference_weights();
  if (h.names() != facts().domains)
    throw Error(facts().path + ": domain weights over " + std::to_string(h.size()) +
                " domains (" + h.format() + ") do not match this model's " +
                std::to_string(facts().domains.size()) + " domains");
  return h;
}

std::shared_ptr<const DenseSpecialist> Model::instantiate_dense(const DomainWeights&) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model is not one dense GPT-2, so it cannot be exported or merged as one");
}

FitResult Model::fit_weights(const std::string&, const FitOptions&) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model has no domain weights to fit (fitting h needs a soup bank with experts)");
}

SoupInspection Model::inspect(const DomainWeights&) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model has no coefficients alpha(h) to inspect (that needs a soup bank with experts)");
}

MixingRole Model::mixing_role(const DomainWeights&, const ValidationSet*, int) const {
  throw Error(facts().path + ": a " + model_kind_name(kind()) +
              " model is one set of weights: nothing in it is mixed by h (no experts, no merge recorded)");
}

namespace {

// One domain's loss on its first `max_windows` windows (all for 0): every window has the same
// length, so the loss is the windows' mean.
double first_windows_loss(const Specialist& model, const ValidationSet& windows, size_t domain, int max_windows) {
  const int count = max_windows > 0 ? std::min(max_windows, windows.windows(domain)) : windows.windows(domain);
  const std::vector<double> w = model.window_losses(windows, domain, 0, count);
  double mean = 0;
  for (double x : w) mean += x / double(w.size());
  return mean;
}

}  // namespace

std::vector<double> first_windows_losses(const Specialist& model, const ValidationSet& windows, int max_windows) {
  if (max_windows <= 0) return model.evaluate(windows);
  std::vector<double> out;
  for (size_t d = 0; d < windows.domains().size(); ++d) out.push_back(first_windows_loss(model, windows, d, max_windows));
  return out;
}

std::vector<PathPoint> loss_path(const Model& model, const DomainWeights& a, const DomainWeights& b, int points,
                                 const ValidationSet& windows, int max_windows) {
  if (points < 1) throw Error("a path needs at least 1 step between its ends, got " + std::to_string(points));
  const auto from = model.instantiate_dense(a), to = model.instantiate_dense(b);
  // The straight segment between the two sets of weights, evaluated where the bank lives.
  const torch::Tensor ta = from->dense_runner().theta(), tb = to->dense_runner().theta();
  std::vector<PathPoint> out;
  for (int i = 0; i <= points; ++i) {
    PathPoint p;
    p.t = double(i) / points;
    std::vector<double> h(a.size());
    for (size_t d = 0; d < h.size(); ++d) h[d] = (1 - p.t) * a[d] + p.t * b[d];
    p.h = model.weights(h);
    p.along_h = first_windows_losses(*model.instantiate(p.h), windows, max_windows);
    // The ends exactly: t = 0 and 1 are the two specialists' own weights, not a rounded blend.
    const torch::Tensor theta = i == 0 ? ta : i == points ? tb : ta * float(1 - p.t) + tb * float(p.t);
    const auto runner = std::make_shared<detail::DenseRunner>(theta, model.facts().config.model);
    p.along_weights = first_windows_losses(DenseSpecialist(runner, p.h, 0), windows, max_windows);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<LandscapePoint> loss_landscape(const Model& model, const DomainWeights& base,
                                           const std::array<size_t, 3>& corners, int resolution,
                                           const ValidationSet& target, const std::vector<double>& mixture,
                                           int max_windows) {
  const std::vector<std::string>& names = model.facts().domains;
  if (resolution < 1) throw Error("a landscape needs at least 1 step per edge, got " + std::to_string(resolution));
  if (base.size() != names.size()) throw Error("a landscape's base h must cover the model's " + std::to_string(names.size()) + " domains");
  for (size_t c : corners)
    if (c >= names.size()) throw Error("a landscape corner is not a domain of this model: " + std::to_string(c));
  if (corners[0] == corners[1] || corners[0] == corners[2] || corners[1] == corners[2])
    throw Error("a landscape needs three different domains");
  if (!mixture.empty() && mixture.size() != target.domains().size())
    throw Error("the target mixture has " + std::to_string(mixture.size()) + " weights for " +
                std::to_string(target.domains().size()) + " domains");
  std::vector<double> rest = base.values();
  double joint = 0;
  for (size_t c : corners) {
    joint += rest[c];
    rest[c] = 0;
  }
  if (joint <= 0) {  // the three carry nothing in base: the simplex of the three alone
    joint = 1;
    std::fill(rest.begin(), rest.end(), 0.0);
  }
  std::vector<LandscapePoint> out;
  for (int i = 0; i <= resolution; ++i)
    for (int j = 0; i + j <= resolution; ++j) {
      LandscapePoint p;
      p.share = {double(i) / resolution, double(j) / resolution, double(resolution - i - j) / resolution};
      std::vector<double> h = rest;
      for (size_t c = 0; c < 3; ++c) h[corners[c]] = joint * p.share[c];
      p.h = model.weights(h);
      const auto specialist = model.instantiate(p.h);
      // Only the target's domains that carry weight, on their first max_windows windows.
      const size_t k = target.domains().size();
      double sum = 0;
      for (size_t d = 0; d < k; ++d) {
        const double weight = mixture.empty() ? 1.0 / double(k) : mixture[d];
        if (weight != 0) sum += weight * first_windows_loss(*specialist, target, d, max_windows);
      }
      p.loss = sum;
      out.push_back(std::move(p));
    }
  return out;
}

ModelExportResult Model::export_specialist(const DomainWeights& h_in, const std::string& out_dir,
                                           const ModelExportOptions& options,
                                           std::vector<std::string>* notes,
                                           const ModelExportProgress& progress) const {
  const ModelFacts& f = facts();
  // A kind that is not one dense GPT-2 refuses here, with its reason, before any progress.
  if (!capabilities().can_export) instantiate_dense(h_in);
  if (progress) progress("instantiating");
  const auto spec = instantiate_dense(h_in);
  // The card and the log record the specialist's own h, so they describe exactly the model written.
  SpecialistCard card;
  card.run_id = std::to_string(f.run_id);
  card.run_name = f.run_name;
  card.run_kind = f.kind;
  card.step = f.step;
  card.source_checkpoint = f.path;
  card.domain_names = f.domains;
  card.h = spec->domain_weights().values();
  card.val_losses = export_card_losses(
      options, [&](int windows) { return spec->evaluate(*ValidationSet::for_model(f, windows)); }, notes, progress);
  ExportRunRecord record;
  record.run_id = f.run_id;  // 0 (not from a logged run): the export is not recorded
  record.step = f.step;
  const auto theta = spec->parameters();
  ModelExportResult result =
      write_logged_export(spec->model_config(), theta.data(), card, out_dir, options, record, notes, progress);
  result.h = spec->domain_weights();
  return result;
}

}  // namespace souplab
