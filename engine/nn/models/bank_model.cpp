// A soup or dense checkpoint opened for exploration: theta(h) = S + alpha(h)^T E, or S alone.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/specialist.h"
#include "souplab/target_weights.h"
#include "engine/nn/fit_weights.h"
#include "engine/nn/instantiate_cast.h"
#include "engine/nn/models/openers.h"
#include "engine/nn/runner.h"
#include "engine/nn/soup.h"

namespace souplab {
namespace {

std::vector<double> to_doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// The transformer block a GPT-2 tensor belongs to ("h.3.mlp.c_fc.weight" -> 3), -1 for the rest.
int block_of(const std::string& name) {
  if (name.rfind("h.", 0) != 0) return -1;
  return std::atoi(name.c_str() + 2);
}

class BankModel final : public Model {
 public:
  BankModel(ModelSource source) : facts_(checkpoint_facts(source)) {
    const TrainState& s = source.checkpoint->meta.state;
    BankConfig bank = s.config.bank;
    if (facts_.kind == ModelKind::kDense) bank.n_experts = 0;
    bank_ = std::make_unique<SoupBank>(s.config.model, bank, int(s.domains.size()), source.torch_device);
    load_parameters(*source.checkpoint, *bank_);
    precision_ = source.precision;
    facts_.precision = precision_name(precision_);
  }

  const ModelFacts& facts() const override { return facts_; }

  ModelCapabilities capabilities() const override {
    const bool soup = bank_->n_experts() > 0;
    return {soup, !facts_.domains.empty(), true, soup};
  }

  // In the inference precision asked at load: a bf16/fp16 theta summed in float32 and written
  // once (SoupBank::inference_theta), run as a plain Specialist so that nothing exports it.
  std::shared_ptr<const Specialist> instantiate(const DomainWeights& h_in) const override {
    if (precision_ == torch::kFloat32) return instantiate_dense(h_in);
    const DomainWeights h = resolve(h_in);
    double ms = 0;
    torch::Tensor theta = timed(&ms, [&] { return bank_->inference_theta(bank_->h_tensor(h.values()), precision_); });
    return std::make_shared<Specialist>(std::make_shared<detail::DenseRunner>(theta, facts_.config.model), h, ms);
  }

  std::shared_ptr<const DenseSpecialist> instantiate_dense(const DomainWeights& h_in) const override {
    const DomainWeights h = resolve(h_in);
    torch::NoGradGuard no_grad;
    double ms = 0;
    torch::Tensor theta = timed(&ms, [&] { return bank_->theta(bank_->h_tensor(h.values())); });
    // detach: a dense bank's theta is its own S, which must stay read-only here.
    auto runner = std::make_shared<detail::DenseRunner>(theta.detach(), facts_.config.model);
    return std::make_shared<DenseSpecialist>(std::move(runner), h, ms);
  }

  // make()'s theta and its wall time in *ms (a CUDA theta is waited for: kernels run asynchronously).
  template <class Make>
  static torch::Tensor timed(double* ms, const Make& make) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor theta = make();
    if (theta.is_cuda()) torch::cuda::synchronize();
    *ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return theta;
  }

  FitResult fit_weights(const std::string& target, const FitOptions& options) const override {
    if (bank_->n_experts() == 0)
      throw file_error(facts_.path, "a dense model has no domain weights to fit (the bank has no experts)");
    return fit_weights_through(*bank_, facts_.domains, target, options);
  }

  MixingRole mixing_role(const DomainWeights& h_in, const ValidationSet*, int) const override {
    if (bank_->n_experts() == 0) return Model::mixing_role(h_in, nullptr, 0);
    torch::NoGradGuard no_grad;
    MixingRole r;
    r.role = "alpha(h)";
    r.values = {to_doubles(bank_->alpha(bank_->h_tensor(resolve(h_in).values()))), inspect_constants().alpha_uniform};
    r.formula = soup_formula(r.values[0]);
    r.note = "The specialist is the shared parameters S plus these multiples of the experts E_j.";
    r.rows = {"alpha(h)", "alpha(uniform h)"};
    for (size_t j = 0; j < r.values[0].size(); ++j) r.columns.push_back("E" + std::to_string(j + 1));
    return r;
  }

  SoupInspection inspect(const DomainWeights& h_in) const override {
    if (bank_->n_experts() == 0)
      throw file_error(facts_.path, "a dense model has no coefficients alpha(h) to inspect (the bank has no experts)");
    const InspectConstants& k = inspect_constants();
    SoupInspection out;
    out.h = resolve(h_in);
    torch::NoGradGuard no_grad;
    const torch::Tensor h = bank_->h_tensor(out.h.values());
    out.alpha = to_doubles(bank_->alpha(h));
    out.alpha_uniform = k.alpha_uniform;
    const torch::Tensor theta = bank_->theta(h).to(torch::kCPU);
    // Per tensor, and per block from the blocks' summed squares.
    struct Squares { double to_s = 0, s = 0, to_u = 0, u = 0; int64_t numel = 0; };
    std::vector<Squares> blocks(k.blocks);  // the last: the rest
    const auto& entries = bank_->layout().entries;
    for (size_t i = 0; i < entries.size(); ++i) {
      const ParamEntry& e = entries[i];
      const torch::Tensor mine = theta.narrow(0, e.offset, e.numel);
      Squares q{squares(mine - k.shared.narrow(0, e.offset, e.numel)), k.shared_squares[i],
                squares(mine - k.uniform.narrow(0, e.offset, e.numel)), k.uniform_squares[i], e.numel};
      ParamDistance d;
      d.name = e.name;
      d.layer = block_of(e.name);
      d.numel = e.numel;
      d.from_shared = ratio(q.to_s, q.s);
      d.from_uniform = ratio(q.to_u, q.u);
      out.tensors.push_back(d);
      Squares& b = blocks[block_index(d.layer, k.blocks)];
      b.to_s += q.to_s, b.s += q.s, b.to_u += q.to_u, b.u += q.u, b.numel += q.numel;
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      const bool rest = i + 1 == blocks.size();
      out.blocks.push_back({rest ? "rest" : "block " + std::to_string(i), rest ? -1 : int(i), blocks[i].numel,
                            ratio(blocks[i].to_s, blocks[i].s), ratio(blocks[i].to_u, blocks[i].u)});
    }
    // Which experts carry the specialist where: ||alpha_j E_j|| / ||S|| over each block.
    for (size_t j = 0; j < k.expert_block_squares.size(); ++j) {
      std::vector<double> row;
      for (size_t b = 0; b < k.blocks; ++b)
        row.push_back(std::abs(out.alpha[j]) * ratio(k.expert_block_squares[j][b], blocks[b].s));
      out.expert_blocks.push_back(std::move(row));
    }
    return out;
  }

 private:
  // What every inspection of this bank shares, computed once (the explorer inspects every full
  // tier; at the demo size these norms and theta at uniform h cost tens of ms per move).
  struct InspectConstants {
    torch::Tensor shared, uniform;             // S and theta(uniform h), on the CPU
    std::vector<double> alpha_uniform;
    std::vector<double> shared_squares, uniform_squares;  // per layout entry, float64 sums
    size_t blocks = 0;                         // transformer blocks + 1 (the rest)
    std::vector<std::vector<double>> expert_block_squares;  // [expert][block]: ||E_j||^2 there; full rank only
  };

  static double squares(const torch::Tensor& t) { return t.to(torch::kFloat64).pow(2).sum().item<double>(); }
  static double ratio(double num, double den) { return den > 0 ? std::sqrt(num / den) : 0.0; }
  static size_t block_index(int layer, size_t blocks) { return layer < 0 ? blocks - 1 : size_t(layer); }

  const InspectConstants& inspect_constants() const {
    std::call_once(inspect_once_, [this] {
      torch::NoGradGuard no_grad;
      InspectConstants& k = inspect_;
      const torch::Tensor u = bank_->h_tensor(reference_weights().values());
      k.alpha_uniform = to_doubles(bank_->alpha(u));
      k.uniform = bank_->theta(u).to(torch::kCPU);
      torch::Tensor experts;
      for (const auto& [name, t] : bank_->named_parameters()) {
        if (name == "S") k.shared = t.detach().to(torch::kCPU);
        if (name == "E") experts = t.detach().to(torch::kCPU);
      }
      k.blocks = size_t(facts_.config.model.n_layer) + 1;
      // A full-rank expert is a row in theta's layout; low-rank rows are factored and skipped.
      const bool full_rank = experts.defined() && experts.dim() == 2 && experts.size(1) == k.shared.numel();
      if (full_rank) k.expert_block_squares.assign(size_t(experts.size(0)), std::vector<double>(k.blocks, 0.0));
      for (const ParamEntry& e : bank_->layout().entries) {
        k.shared_squares.push_back(squares(k.shared.narrow(0, e.offset, e.numel)));
        k.uniform_squares.push_back(squares(k.uniform.narrow(0, e.offset, e.numel)));
        const size_t b = block_index(block_of(e.name), k.blocks);
        for (size_t j = 0; j < k.expert_block_squares.size(); ++j)
          k.expert_block_squares[j][b] += squares(experts[int64_t(j)].narrow(0, e.offset, e.numel));
      }
    });
    return inspect_;
  }

  ModelFacts facts_;
  std::unique_ptr<SoupBank> bank_;
  torch::ScalarType precision_ = torch::kFloat32;
  mutable std::once_flag inspect_once_;
  mutable InspectConstants inspect_;
};

}  // namespace

std::shared_ptr<const Model> open_bank_model(ModelSource source) {
  if (!source.checkpoint) throw file_error(source.path, "not a SoupLab checkpoint");
  return std::make_shared<BankModel>(std::move(source));
}

}  // namespace souplab
