// The soup and its instantiation (issue: foundation): soup-at-h logits equal the instantiated
// model's; gradients reach shared, experts and the coefficient MLP; h is validated; parameter
// counts match the formula; libtorch's forward equals a plain C++ reference of the same math.
#include <torch/torch.h>

#include <array>
#include <set>

#include <QTemporaryDir>
#include <QtTest>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/param_layout.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/adamw.h"
#include "engine/nn/causal_attention.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/cpu_decoder.h"
#include "engine/nn/cpu_gemm.h"
#include "engine/nn/gpt.h"
#include "engine/nn/gpt_grouped.h"
#include "engine/nn/linear.h"
#include "engine/nn/instantiate_cast.h"
#include "engine/nn/soup.h"
#include "engine/nn/torch_compat.h"
#include "export/reference_gpt.h"

using namespace souplab;

namespace {

ModelConfig tiny_model() {
  ModelConfig m;
  m.n_layer = 2;
  m.n_embd = 32;
  m.n_head = 4;
  m.block_size = 16;
  return m;
}

BankConfig tiny_bank(int n) {
  BankConfig b;
  b.n_experts = n;
  b.coef_hidden = 16;
  b.expert_init_scale = 1.0;  // experts as large as S, so a wrong mixture would show
  return b;
}

std::vector<double> random_h(std::mt19937& rng, int k) {
  std::exponential_distribution<double> e(1.0);
  std::vector<double> h(k);
  for (auto& v : h) v = e(rng);
  return normalize_domain_weights(h, k);
}

// `bank` saved as a checkpoint over domains d0..d(k-1) in `dir`; returns its path.
std::string save_tiny_bank(const SoupBank& bank, int n, int k, const QTemporaryDir& dir) {
  TrainState s;
  s.config.model = tiny_model();
  s.config.bank = tiny_bank(n);
  s.config.bank.n_domains = k;
  for (int i = 0; i < k; ++i) s.domains.push_back("d" + std::to_string(i));
  const std::string path = dir.filePath("bank.ckpt").toStdString();
  save_checkpoint(path, bank, nullptr, s);
  return path;
}

torch::Tensor random_tokens(int B, int T, uint64_t seed) {
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  return torch::randint(0, 256, {B, T}, gen, torch::kInt64);
}

}  // namespace

class TestSoupModel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void quickWindowShapeStaysWithinItsBudget() {
    // The explorer's quick tier: never more than asked for, never empty, and within the token
    // budget whenever 16-token windows allow it; up to the maximum when the budget has room.
    for (int k = 1; k <= 300; ++k) {
      const WindowShape q = quick_window_shape(k, 64, 2, 1024);
      QVERIFY(q.block >= 16 && q.block <= 64);
      QVERIFY(q.windows >= 1 && q.windows <= 2);
      if (k * 16 <= 1024) QVERIFY2(k * q.windows * q.block <= 1024, qPrintable(QString::number(k)));
      if (k * 2 * 64 <= 1024) QVERIFY(q.block == 64 && q.windows == 2);
    }
    QCOMPARE(quick_window_shape(3, 32, 4, 1024).block, 32);  // never longer than asked
  }

  // The coefficient MLP starts with sum_j |alpha_j| = alpha_init_l1 on average over one-hot h
  // (b2 = 0), and different domains get different coefficients; alpha_init_l1 = 0 keeps
  // PyTorch's default Linear init (a non-zero b2).
  void alphaStartsAtTheConfiguredSize() {
    const int k = 4, n = 8;
    for (const auto& [l1, centred] : {std::pair{1.0, 0}, {0.25, 0}, {6.0, 0}, {1.0, 1}, {0.25, 1}}) {
      BankConfig b = tiny_bank(n);
      b.alpha_init_l1 = l1;
      b.alpha_centered = centred;
      SoupBank bank(tiny_model(), b, k, torch::kCPU);
      bank.init(5);
      torch::NoGradGuard no_grad;
      double mean_l1 = 0;
      std::vector<torch::Tensor> alphas;
      for (int i = 0; i < k; ++i) {
        alphas.push_back(bank.alpha(bank.h_tensor(one_hot_domain_weights(k, i))));
        mean_l1 += alphas.back().abs().sum().item<double>() / k;
      }
      QVERIFY2(std::abs(mean_l1 - l1) < 1e-4 * l1, qPrintable(QString("%1 vs %2").arg(mean_l1).arg(l1)));
      QVERIFY((alphas[0] - alphas[1]).abs().max().item<double>() > 0.01 * l1 / n);
      // bank.alpha_centered: the one-hot alphas start centred on zero (their mean is S's share),
      // so every specialist starts as S plus its own direction rather than S plus a common one.
      const double mean_abs = torch::stack(alphas).mean(0).abs().max().item<double>();
      if (centred) QVERIFY2(mean_abs < 1e-6 * l1, qPrintable(QString("mean one-hot alpha %1").arg(mean_abs)));
      else QVERIFY2(mean_abs > 1e-3 * l1 / n, qPrintable(QString("mean one-hot alpha %1").arg(mean_abs)));
    }
    BankConfig d = tiny_bank(n);
    d.alpha_init_l1 = 0;
    SoupBank plain(tiny_model(), d, k, torch::kCPU);
    plain.init(5);
    auto b2 = plain.named_parameters()[5].second;
    QCOMPARE(QString::fromStdString(plain.named_parameters()[5].first), QString("coef.b2"));
    QVERIFY(b2.abs().max().item<double>() > 0);
  }

  void instantiatedEqualsSoupAtRandomH() {
    const int k = 5, n = 3;
    SoupBank bank(tiny_model(), tiny_bank(n), k, torch::kCPU);
    bank.init(7);
    QTemporaryDir dir;
    const std::string path = save_tiny_bank(bank, n, k, dir);
    auto loaded = Model::load(path, "cpu");
    QCOMPARE(int(loaded->kind()), int(ModelKind::kSoup));
    QVERIFY(loaded->capabilities().can_instantiate && loaded->capabilities().can_fit_weights);

    std::mt19937 rng(3);
    const auto idx = random_tokens(2, 16, 11);
    std::vector<int64_t> flat(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    torch::Tensor previous;
    for (int trial = 0; trial < 5; ++trial) {
      const auto h = random_h(rng, k);
      torch::NoGradGuard no_grad;
      const auto soup_logits = bank.forward(bank.h_tensor(h), idx);
      auto spec = loaded->instantiate_dense(loaded->weights(h));
      const auto spec_logits = spec->logits(flat, 2, 16);
      const auto spec_t = torch::from_blob(const_cast<float*>(spec_logits.data()), soup_logits.sizes());
      const double diff = (soup_logits - spec_t).abs().max().item<double>();
      QVERIFY2(diff <= 1e-5, qPrintable(QString("max abs diff %1").arg(diff)));
      // theta = S + sum_j alpha_j E_j, checked against an explicit loop over experts.
      auto named = bank.named_parameters();
      auto alpha = bank.alpha(bank.h_tensor(h));
      auto naive = named[0].second.clone();
      for (int j = 0; j < n; ++j) naive += alpha[j] * named[1].second[j];
      const auto theta = torch::tensor(spec->parameters());
      QVERIFY((theta - naive).abs().max().item<double>() <= 1e-5);
      // The experts matter: different h give different models.
      if (previous.defined()) QVERIFY((soup_logits - previous).abs().max().item<double>() > 1e-3);
      previous = soup_logits;
    }
  }

  // The instantiation fused with the cast (engine/nn/instantiate_cast): float32 equals libtorch's
  // S + alpha^T E to float rounding, and bf16 / fp16 are that sum rounded once (at most one unit
  // in the last place of the target dtype apart, equal almost everywhere).
  void instantiateCastIsTheSoupRoundedOnce() {
    const int64_t n = 5, P = 10007;  // P not a multiple of the loop's block
    torch::manual_seed(11);
    const auto S = torch::randn({P}), E = torch::randn({n, P}) * 0.1, alpha = torch::randn({n});
    const auto exact = (S.to(torch::kFloat64) + torch::mv(E.t().to(torch::kFloat64), alpha.to(torch::kFloat64)));
    const auto f32 = instantiate_cast(S, E, alpha, torch::kFloat32);
    QCOMPARE(f32.scalar_type(), torch::kFloat32);
    QVERIFY((f32.to(torch::kFloat64) - exact).abs().max().item<double>() <= 1e-5);
    for (const auto& [dtype, ulp] : {std::pair{torch::kBFloat16, 1.0 / 128}, std::pair{torch::kFloat16, 1.0 / 1024}}) {
      const auto low = instantiate_cast(S, E, alpha, dtype);
      QCOMPARE(low.scalar_type(), dtype);
      const auto rounded = exact.to(torch::kFloat32).to(dtype);
      const auto diff = (low.to(torch::kFloat64) - rounded.to(torch::kFloat64)).abs();
      QVERIFY((diff <= exact.abs() * ulp + 1e-6).all().item<bool>());
      const double same = (diff == 0).to(torch::kFloat64).mean().item<double>();
      QVERIFY2(same >= 0.99, qPrintable(QString("only %1 of the elements equal the rounded sum").arg(same)));
    }
  }

  // A bank loaded for bf16 inference: its specialists run in bf16 and agree with float32 to
  // bf16's precision; instantiate_dense (export, merge) stays float32; a bad precision is refused.
  void bf16SpecialistsAgreeWithFloat32() {
    const int k = 4, n = 3;
    SoupBank bank(tiny_model(), tiny_bank(n), k, torch::kCPU);
    bank.init(9);
    QTemporaryDir dir;
    const std::string path = save_tiny_bank(bank, n, k, dir);
    auto fp32 = Model::load(path, "cpu");
    auto bf16 = Model::load(path, "cpu", "bf16");
    QCOMPARE(QString::fromStdString(fp32->facts().precision), QString("fp32"));
    QCOMPARE(QString::fromStdString(bf16->facts().precision), QString("bf16"));
    const auto h = bf16->weights({0.1, 0.6, 0.2, 0.1});
    const auto spec = bf16->instantiate(h);
    QVERIFY(!std::dynamic_pointer_cast<const DenseSpecialist>(spec));  // nothing exports a bf16 theta
    const auto idx = random_tokens(2, 16, 5);
    std::vector<int64_t> flat(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    const auto a = torch::tensor(fp32->instantiate(h)->logits(flat, 2, 16));
    const auto b = torch::tensor(spec->logits(flat, 2, 16));
    const double scale = a.abs().max().item<double>(), diff = (a - b).abs().max().item<double>();
    qInfo("bf16 vs fp32 logits: max |diff| %.3g of max %.3g", diff, scale);
    QVERIFY2(diff <= 0.05 * scale, qPrintable(QString("max |diff| %1 of %2").arg(diff).arg(scale)));
    QVERIFY(diff > 0);  // it did run in bf16
    QCOMPARE(bf16->instantiate_dense(h)->parameters(), fp32->instantiate_dense(h)->parameters());
    QVERIFY_THROWS_EXCEPTION(souplab::Error, Model::load(path, "cpu", "fp8"));
    QVERIFY_THROWS_EXCEPTION(souplab::Error, Model::load(path, "cpu", "fp16"));  // CUDA only
  }

  void gradientsReachSharedExpertsAndCoefficients() {
    const int k = 4;
    SoupBank bank(tiny_model(), tiny_bank(3), k, torch::kCPU);
    bank.init(1);
    const auto idx = random_tokens(2, 17, 5);
    const auto h = std::vector<double>{0.1, 0.2, 0.3, 0.4};
    auto loss = lm_loss(bank.forward(bank.h_tensor(h), idx.narrow(1, 0, 16)), idx.narrow(1, 1, 16));
    loss.backward();
    for (const auto& [name, t] : bank.named_parameters()) {
      QVERIFY2(t.grad().defined(), name.c_str());
      QVERIFY2(torch::isfinite(t.grad()).all().item<bool>(), name.c_str());
      QVERIFY2(t.grad().abs().sum().item<double>() > 0, name.c_str());
    }
    // Every expert receives gradient.
    auto expert_grad = bank.named_parameters()[1].second.grad();
    for (int j = 0; j < 3; ++j) QVERIFY(expert_grad[j].abs().sum().item<double>() > 0);
  }

  // Low-rank experts (bank.expert_rank): every matrix of E_j is U_j V_j, vectors stay full; at
  // initialisation every E_j is 0 (V starts at zero), so the soup starts as S.
  void lowRankExpertsAreProductsOfFactors() {
    const int k = 3, n = 2, r = 2;
    BankConfig bc = tiny_bank(n);
    bc.expert_rank = r;
    SoupBank bank(tiny_model(), bc, k, torch::kCPU);
    bank.init(4);
    const ParamLayout& layout = bank.layout();
    const auto named = bank.named_parameters();
    const torch::Tensor S = named[0].second, E = named[1].second;
    QCOMPARE(E.size(1), expert_size(layout, r));
    QCOMPARE(param_counts(tiny_model(), bc, k).per_expert, expert_size(layout, r));
    QVERIFY(expert_size(layout, r) < layout.total / 4);
    torch::NoGradGuard no_grad;
    const std::vector<double> h{0.2, 0.5, 0.3};
    QCOMPARE((bank.theta(bank.h_tensor(h)) - S).abs().max().item<double>(), 0.0);
    E.copy_(torch::randn(E.sizes(), torch::make_generator<torch::CPUGeneratorImpl>(3)));
    const auto alpha = bank.alpha(bank.h_tensor(h));
    const auto theta = bank.theta(bank.h_tensor(h));
    int64_t q = 0;
    for (const auto& e : layout.entries) {
      auto want = S.narrow(0, e.offset, e.numel).clone();
      for (int j = 0; j < n; ++j) {
        if (e.shape.size() == 2) {
          auto U = E[j].narrow(0, q, e.shape[0] * r).view({e.shape[0], r});
          auto V = E[j].narrow(0, q + e.shape[0] * r, r * e.shape[1]).view({r, e.shape[1]});
          want += alpha[j] * torch::mm(U, V).reshape({-1});
        } else {
          want += alpha[j] * E[j].narrow(0, q, e.numel);
        }
      }
      q += e.shape.size() == 2 ? r * (e.shape[0] + e.shape[1]) : e.numel;
      const double diff = (theta.narrow(0, e.offset, e.numel) - want).abs().max().item<double>();
      QVERIFY2(diff <= 1e-4, qPrintable(QString("%1: %2").arg(e.name.c_str()).arg(diff)));
    }
    // Several h at once give each h's theta.
    const std::vector<double> h2{0.6, 0.1, 0.3};
    const auto both = bank.thetas(torch::stack({bank.h_tensor(h), bank.h_tensor(h2)}));
    QVERIFY((both[0] - theta).abs().max().item<double>() <= 1e-5);
    QVERIFY((both[1] - bank.theta(bank.h_tensor(h2))).abs().max().item<double>() <= 1e-5);
  }

  // Several h per step (train.h_per_step): each group of rows runs its own specialist, and the
  // loss and every gradient are those of the groups computed one by one.
  void severalHPerStepEqualsEachGroupOnItsOwn() {
    const int k = 4, G = 3, rows = 2;
    SoupBank bank(tiny_model(), tiny_bank(3), k, torch::kCPU);
    bank.init(2);
    bank.set_fused_step(false);  // autograd through E: every gradient in .grad()
    std::mt19937 rng(8);
    std::vector<std::vector<double>> hs;
    for (int g = 0; g < G; ++g) hs.push_back(random_h(rng, k));
    const auto idx = random_tokens(G * rows, 17, 6);
    auto x = idx.narrow(1, 0, 16), y = idx.narrow(1, 1, 16);
    auto grads = [&]() {
      std::vector<torch::Tensor> out;
      for (auto& [name, t] : bank.named_parameters()) {
        out.push_back(t.grad().clone());
        t.mutable_grad() = torch::Tensor();
      }
      return out;
    };
    const auto grouped = bank.training_loss(hs, x, y).loss;
    grouped.backward();
    const auto g_grouped = grads();
    torch::Tensor sum;
    for (int g = 0; g < G; ++g) {
      auto l = lm_loss(bank.forward(bank.h_tensor(hs[size_t(g)]), x.narrow(0, g * rows, rows)),
                       y.narrow(0, g * rows, rows));
      sum = g == 0 ? l : sum + l;
    }
    const auto separate = sum / double(G);
    separate.backward();
    const auto g_separate = grads();
    QVERIFY(std::abs(grouped.item<double>() - separate.item<double>()) < 1e-6);
    for (size_t i = 0; i < g_grouped.size(); ++i) {
      const double scale = g_separate[i].abs().max().item<double>();
      QVERIFY(scale > 0);
      const double diff = (g_grouped[i] - g_separate[i]).abs().max().item<double>();
      QVERIFY2(diff <= 1e-5 * std::max(1.0, scale), qPrintable(QString("tensor %1: %2").arg(i).arg(diff)));
    }
    // The batched forward over groups (the one training takes where it pays: every build but
    // Debian's oneDNN one) gives each group's own logits, whichever path the loss above took.
    {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> rows_h;
      for (const auto& h : hs) rows_h.push_back(bank.h_tensor(h));
      const auto thetas = bank.thetas(torch::stack(rows_h));
      const auto logits = gpt_forward_grouped(thetas, tiny_model(), bank.layout(), x);
      for (int g = 0; g < G; ++g) {
        const auto own = gpt_forward(thetas[g], tiny_model(), bank.layout(), x.narrow(0, g * rows, rows));
        const double diff = (logits.narrow(0, g * rows, rows) - own).abs().max().item<double>();
        QVERIFY2(diff <= 1e-5, qPrintable(QString("group %1: %2").arg(g).arg(diff)));
      }
      QVERIFY_THROWS_EXCEPTION(std::exception, gpt_forward_grouped(thetas, tiny_model(), bank.layout(), x.narrow(0, 0, 5)));
    }
    // One group is the plain forward over the whole batch, exactly.
    const auto one = bank.training_loss({hs[0]}, x, y).loss;
    const auto plain = lm_loss(bank.forward(bank.h_tensor(hs[0]), x), y);
    QCOMPARE(one.item<double>(), plain.item<double>());
    // Rows that do not split into the groups are refused.
    QVERIFY_THROWS_EXCEPTION(std::exception, bank.training_loss({hs[0], hs[1]}, x.narrow(0, 0, 5), y.narrow(0, 0, 5)));
  }

  // The fused step leaves E's gradient to AdamW as alpha^T dL/dtheta: the gradients it forms
  // (S, the coefficient MLP, E's factored one and its norm) are autograd's.
  void fusedStepGivesAutogradsGradients() {
    const int k = 4, n = 3, G = 3, rows = 2;
    SoupBank fused(tiny_model(), tiny_bank(n), k, torch::kCPU), plain(tiny_model(), tiny_bank(n), k, torch::kCPU);
    fused.init(5);
    plain.init(5);
    plain.set_fused_step(false);
    std::mt19937 rng(9);
    std::vector<std::vector<double>> hs;
    for (int g = 0; g < G; ++g) hs.push_back(random_h(rng, k));
    const auto idx = random_tokens(G * rows, 17, 12);
    auto x = idx.narrow(1, 0, 16), y = idx.narrow(1, 1, 16);
    auto lf = fused.training_loss(hs, x, y);
    lf.loss.backward();
    QVERIFY(lf.fused.has_value());
    const FactoredGrad fg = lf.fused->after_backward();
    auto lp = plain.training_loss(hs, x, y);
    QVERIFY(!lp.fused);
    lp.loss.backward();
    QVERIFY(std::abs(lf.loss.item<double>() - lp.loss.item<double>()) < 1e-6);
    const auto nf = fused.named_parameters(), np = plain.named_parameters();
    QCOMPARE(nf[lf.fused->factored_index].first, std::string("E"));
    QVERIFY(!nf[1].second.grad().defined());  // never materialised
    auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
      const double scale = std::max(1.0, b.abs().max().item<double>());
      return (a - b).abs().max().item<double>() <= 1e-5 * scale;
    };
    for (size_t i = 0; i < np.size(); ++i) {
      const auto want = np[i].second.grad();
      const auto got = i == lf.fused->factored_index ? fg.materialize() : nf[i].second.grad();
      QVERIFY2(want.abs().sum().item<double>() > 0, np[i].first.c_str());
      QVERIFY2(close(got, want), np[i].first.c_str());
    }
    const double sq = np[1].second.grad().pow(2).sum().item<double>();
    QVERIFY(std::abs(fg.squared_norm() - sq) <= 1e-5 * sq);
  }

  // AdamW with the factored gradient (one pass over E, m, v; no n x P gradient) against
  // today's AdamW on the same gradient materialised, with per-tensor learning-rate scales, decay
  // masks and an active clip: the whole optimiser state (parameters and both moments) after 5
  // steps agrees to 1e-6 with one h per step (a rank-one gradient, one product per element).
  // With several h the G products are summed in another order than the GEMM's, and where they
  // cancel Adam's normalisation magnifies the rounding (seen: 2e-6 at G = 2): 1e-5 there.
  // The gradients come from the fused soup each step; the reference optimiser updates a copy.
  void fusedOptimiserStepMatchesTheReferenceOverFiveSteps_data() {
    QTest::addColumn<int>("G");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("rank one (one h per step)") << 1 << 1e-6;
    QTest::newRow("three h per step") << 3 << 1e-5;
  }
  void fusedOptimiserStepMatchesTheReferenceOverFiveSteps() {
    QFETCH(int, G);
    QFETCH(double, tolerance);
    const int k = 4, n = 3, rows = 2;
    SoupBank bank(tiny_model(), tiny_bank(n), k, torch::kCPU);
    bank.init(6);
    std::vector<torch::Tensor> pf, pr;
    for (const auto& [name, t] : bank.named_parameters()) {
      pf.push_back(t);
      pr.push_back(t.detach().clone());
    }
    AdamWOptions o;
    const std::vector<double> scales{1.0, 0.5, 0.1, 0.1, 0.1, 0.1};
    AdamW af(pf, bank.decay_masks(), o, scales), ar(pr, bank.decay_masks(), o, scales);
    std::mt19937 rng(10);
    for (int step = 0; step < 5; ++step) {
      std::vector<std::vector<double>> hs;
      for (int g = 0; g < G; ++g) hs.push_back(random_h(rng, k));
      const auto idx = random_tokens(G * rows, 17, 20 + step);
      af.zero_grad();
      ar.zero_grad();
      auto loss = bank.training_loss(hs, idx.narrow(1, 0, 16), idx.narrow(1, 1, 16));
      loss.loss.backward();
      FactoredGrad fg = loss.fused->after_backward();
      for (size_t i = 0; i < pf.size(); ++i)
        pr[i].mutable_grad() = i == loss.fused->factored_index ? fg.materialize() : pf[i].grad().clone();
      const double scale = grad_clip_scale(pr, 0.5);  // small enough that clipping is active
      QVERIFY(scale < 1.0);
      // The factored norm is the materialised gradient's (both summed in float32).
      QVERIFY(std::abs(grad_clip_scale(pf, 0.5, nullptr, fg.squared_norm()) - scale) <= 1e-5 * scale);
      af.set_factored_grad(loss.fused->factored_index, fg);
      af.step(1e-2, scale);
      ar.step(1e-2, scale);
    }
    for (size_t i = 0; i < pf.size(); ++i) {
      for (auto [a, b] : {std::pair{pf[i], pr[i]}, std::pair{af.exp_avg()[i], ar.exp_avg()[i]},
                          std::pair{af.exp_avg_sq()[i], ar.exp_avg_sq()[i]}}) {
        const double diff = (a.detach() - b).abs().max().item<double>();
        QVERIFY2(diff <= tolerance, qPrintable(QString("tensor %1: %2").arg(i).arg(diff)));
      }
    }
  }

  void domainWeightsAreValidated() {
    QVERIFY_THROWS_EXCEPTION(Error, normalize_domain_weights({0.5, 0.5}, 3));
    QVERIFY_THROWS_EXCEPTION(Error, normalize_domain_weights({0.5, -0.1, 0.6}, 3));
    QVERIFY_THROWS_EXCEPTION(Error, normalize_domain_weights({0.5, std::nan(""), 0.5}, 3));
    QVERIFY_THROWS_EXCEPTION(Error, normalize_domain_weights({0.5, INFINITY, 0.5}, 3));
    QVERIFY_THROWS_EXCEPTION(Error, normalize_domain_weights({0, 0, 0}, 3));
    const auto h = normalize_domain_weights({1, 3, 0}, 3);
    QCOMPARE(h[0], 0.25);
    QCOMPARE(h[1], 0.75);
    QCOMPARE(h[2], 0.0);
    try {
      normalize_domain_weights({1, -2}, 2);
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(QString(e.what()).contains("negative"));
    }
    const std::vector<std::string> names{"a", "b", "c"};
    QCOMPARE(parse_domain_weights("b=3,c=1", names), (std::vector<double>{0, 0.75, 0.25}));
    QCOMPARE(parse_domain_weights("onehot:c", names), (std::vector<double>{0, 0, 1}));
    QVERIFY_THROWS_EXCEPTION(Error, parse_domain_weights("zz=1", names));
    QVERIFY_THROWS_EXCEPTION(Error, parse_domain_weights("1,x,2", names));
  }

  void instantiateRejectsBadH() {
    SoupBank bank(tiny_model(), tiny_bank(2), 3, torch::kCPU);
    bank.init(2);
    QTemporaryDir dir;
    TrainState s;
    s.config.model = tiny_model();
    s.config.bank = tiny_bank(2);
    s.domains = {"a", "b", "c"};
    const std::string path = dir.filePath("b.ckpt").toStdString();
    save_checkpoint(path, bank, nullptr, s);
    auto loaded = Model::load(path, "cpu");
    // h is checked when made: bad weights never reach instantiate.
    QVERIFY_THROWS_EXCEPTION(Error, loaded->instantiate(loaded->weights({1, 0})));
    QVERIFY_THROWS_EXCEPTION(Error, loaded->instantiate(loaded->weights({0, 0, 0})));
    QVERIFY_THROWS_EXCEPTION(Error, loaded->instantiate(loaded->weights({1, std::nan(""), 0})));
    // Weights over other domains are refused by the model.
    QVERIFY_THROWS_EXCEPTION(Error, loaded->instantiate(DomainWeights({1, 0, 0}, {"a", "b", "x"})));
    auto spec = loaded->instantiate(loaded->weights({2, 2, 0}));  // normalised, not rejected
    QCOMPARE(spec->domain_weights().values(), (std::vector<double>{0.5, 0.5, 0}));
  }

  void parameterCountsMatchTheFormula() {
    for (int n : {0, 1, 8}) {
      ModelConfig m = tiny_model();
      m.n_layer = 3;
      m.n_embd = 48;
      m.n_head = 6;
      m.block_size = 20;
      BankConfig b = tiny_bank(n);
      const int k = 7;
      SoupBank bank(m, b, k, torch::kCPU);
      int64_t numel = 0;
      for (const auto& [name, t] : bank.named_parameters()) numel += t.numel();
      const ParamCounts pc = param_counts(m, b, k);
      QCOMPARE(numel, pc.total);
      QCOMPARE(bank.layout().total, pc.base);
      // Closed form, written out independently of param_counts.
      const int64_t V = 256, T = 20, L = 3, C = 48;
      QCOMPARE(pc.base, V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C);
      QCOMPARE(pc.instantiated, pc.base);
      QCOMPARE(pc.total, (n + 1) * pc.base + (n > 0 ? k * 16 + 16 + 16 * n + n : 0));
    }
  }

  void forwardMatchesPlainCppReference() {
    ModelConfig m = tiny_model();
    const ParamLayout layout = gpt_param_layout(m);
    auto theta = torch::empty({layout.total});
    init_params(theta, layout, 1.0, 1.0, torch::make_generator<torch::CPUGeneratorImpl>(9));
    // Make norms and biases non-trivial so every term of the math is exercised.
    theta.add_(torch::randn({layout.total}, torch::make_generator<torch::CPUGeneratorImpl>(10)) * 0.05);
    const auto idx = random_tokens(2, 12, 4);
    std::vector<int64_t> flat(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    torch::NoGradGuard no_grad;
    const auto logits = gpt_forward(theta, m, layout, idx).contiguous();
    const auto ref = export_test::reference_gpt_forward(m, layout, theta.data_ptr<float>(), flat, 2, 12);
    QCOMPARE(size_t(logits.numel()), ref.size());
    double diff = 0;
    for (size_t i = 0; i < ref.size(); ++i)
      diff = std::max(diff, std::abs(double(logits.data_ptr<float>()[i]) - ref[i]));
    QVERIFY2(diff <= 1e-4, qPrintable(QString("max abs diff %1").arg(diff)));
  }

  // engine/nn/causal_attention against libtorch's own matmul-mask-softmax-matmul in float64:
  // outputs and the gradients of q, k and v, at head sizes with and without their own loops and
  // lengths that are not multiples of a vector; with 1 and 2 threads.
  void fusedAttentionMatchesLibtorch_data() {
    QTest::addColumn<bool>("gemm");
    QTest::newRow("loops") << false;
    if (cpu_sgemm_available()) QTest::newRow("oneDNN blocks") << true;
  }
  void fusedAttentionMatchesLibtorch() {
    QFETCH(bool, gemm);
    const bool was = cpu_sgemm_enabled();
    set_cpu_sgemm_enabled(gemm);
    struct Restore {
      bool on;
      ~Restore() { set_cpu_sgemm_enabled(on); }
    } restore{was};
    QCOMPARE(cpu_sgemm_enabled(), gemm);
    // Lengths past one block of query rows (128) and head sizes with and without their own loops.
    for (const auto& [B, T, nh, hs] : {std::array<int64_t, 4>{3, 37, 2, 8}, std::array<int64_t, 4>{2, 64, 4, 16},
                                       std::array<int64_t, 4>{1, 1, 1, 4}, std::array<int64_t, 4>{1, 300, 2, 32},
                                       std::array<int64_t, 4>{2, 20, 1, 64}, std::array<int64_t, 4>{1, 130, 3, 12}}) {
      auto gen = torch::make_generator<torch::CPUGeneratorImpl>(uint64_t(T));
      const auto qkv = torch::randn({B, T, 3, nh, hs}, gen) * 1.5;
      const auto dy = torch::randn({B, T, nh, hs}, gen);
      auto mine_in = qkv.clone().requires_grad_(true);
      const auto mine = fused_causal_attention(mine_in);
      mine.backward(dy);
      auto ref_in = qkv.to(torch::kFloat64).requires_grad_(true);
      const auto q = ref_in.select(2, 0).transpose(1, 2), k = ref_in.select(2, 1).transpose(1, 2),
                 v = ref_in.select(2, 2).transpose(1, 2);
      const auto previous = compat::attention_path().exchange(compat::AttentionPath::kMatmul);
      const auto ref = compat::causal_attention(q, k, v, 0).transpose(1, 2);  // (B, T, nh, hs)
      compat::attention_path() = previous;
      ref.backward(dy.to(torch::kFloat64));
      const double dy_err = (mine.to(torch::kFloat64) - ref).abs().max().item<double>();
      const double dx_err = (mine_in.grad().to(torch::kFloat64) - ref_in.grad()).abs().max().item<double>();
      const double scale = ref_in.grad().abs().max().item<double>();
      qInfo("B %lld T %lld nh %lld hs %lld: output %.2g, gradient %.2g (of %.2g)", (long long)B, (long long)T,
            (long long)nh, (long long)hs, dy_err, dx_err, scale);
      QVERIFY2(dy_err < 2e-6 * 4, qPrintable(QString("output differs by %1").arg(dy_err)));
      QVERIFY2(dx_err < 1e-5 * std::max(1.0, scale), qPrintable(QString("gradient differs by %1").arg(dx_err)));

      const int threads = at::get_num_threads();
      at::set_num_threads(1);
      auto one_in = qkv.clone().requires_grad_(true);
      const auto one = fused_causal_attention(one_in);
      one.backward(dy);
      at::set_num_threads(2);
      auto two_in = qkv.clone().requires_grad_(true);
      const auto two = fused_causal_attention(two_in);
      two.backward(dy);
      at::set_num_threads(threads);
      // The loops give the same bits whatever the thread count; oneDNN may block its products
      // differently inside a parallel region (how differently depends on the CPU's vector width),
      // so there only rounding may differ: a few float32 ulps of sums over up to 300 rows.
      if (gemm)
        QVERIFY(torch::allclose(one, two, 1e-5, 1e-5) && torch::allclose(one_in.grad(), two_in.grad(), 1e-5, 1e-5));
      else
        QVERIFY(torch::equal(one, two) && torch::equal(one_in.grad(), two_in.grad()));
    }
  }

  // The linear layers through oneDNN (engine/nn/linear) equal libtorch's addmm, value and
  // gradients, with the weight as stored and as the transpose of a stored matrix.
  void linearMatchesAddmm() {
    auto gen = torch::make_generator<torch::CPUGeneratorImpl>(77);
    for (const bool transposed : {false, true}) {
      const auto x = torch::randn({37, 24}, gen);
      const auto w_store = transposed ? torch::randn({40, 24}, gen) : torch::randn({24, 40}, gen);
      const auto b = torch::randn({40}, gen);
      const auto dy = torch::randn({37, 40}, gen);
      auto run = [&](bool mine, bool bias) {
        auto xi = x.clone().requires_grad_(true), wi = w_store.clone().requires_grad_(true),
             bi = b.clone().requires_grad_(true);
        const auto w = transposed ? wi.t() : wi;
        const auto y = mine ? linear_layer(xi, w, bias ? bi : torch::Tensor())
                            : (bias ? torch::addmm(bi, xi, w) : torch::mm(xi, w));
        y.backward(dy);
        return std::vector<torch::Tensor>{y.detach(), xi.grad(), wi.grad(), bias ? bi.grad() : torch::zeros({40})};
      };
      for (const bool bias : {true, false}) {
        const auto a = run(true, bias), r = run(false, bias);
        for (size_t i = 0; i < a.size(); ++i)
          QVERIFY2(torch::allclose(a[i], r[i], 1e-5, 1e-5),
                   qPrintable(QString("part %1 differs (transposed %2, bias %3)").arg(i).arg(transposed).arg(bias)));
      }
    }
    qInfo("linear through %s", cpu_sgemm_enabled() ? "oneDNN" : "libtorch's addmm");
  }

  void cachedForwardMatchesFullForward() {
    ModelConfig m = tiny_model();
    const ParamLayout layout = gpt_param_layout(m);
    auto theta = torch::empty({layout.total});
    init_params(theta, layout, 1.0, 1.0, torch::make_generator<torch::CPUGeneratorImpl>(21));
    const auto idx = random_tokens(2, 16, 8);
    torch::NoGradGuard no_grad;
    const auto full = gpt_forward(theta, m, layout, idx);  // (2, 16, V)
    KVCache cache;
    auto first = gpt_forward_cached(theta, m, layout, idx.narrow(1, 0, 5), cache);
    QVERIFY((first - full.narrow(1, 0, 5)).abs().max().item<double>() <= 1e-5);
    for (int64_t t = 5; t < 16; ++t) {
      auto step = gpt_forward_cached(theta, m, layout, idx.narrow(1, t, 1), cache);
      const double diff = (step - full.narrow(1, t, 1)).abs().max().item<double>();
      QVERIFY2(diff <= 1e-5, qPrintable(QString("position %1: %2").arg(t).arg(diff)));
    }
    QCOMPARE(cache.length, int64_t(16));
  }

  // The plain-loop CPU decoder generation uses (cpu_decoder.h): the same logits as the full
  // forward at every position, for two rows decoded together, again after a reset.
  void cpuDecoderMatchesFullForward() {
    ModelConfig m = tiny_model();
    const ParamLayout layout = gpt_param_layout(m);
    auto theta = torch::empty({layout.total});
    init_params(theta, layout, 1.0, 1.0, torch::make_generator<torch::CPUGeneratorImpl>(22));
    theta += 0.05 * torch::randn({layout.total}, torch::make_generator<torch::CPUGeneratorImpl>(23));  // biases too
    const auto idx = random_tokens(2, 16, 9);
    torch::NoGradGuard no_grad;
    const auto full = gpt_forward(theta, m, layout, idx);  // (2, 16, V)
    QVERIFY(CpuDecoder::applies(theta));
    QVERIFY(!CpuDecoder::applies(theta.to(torch::kBFloat16)));
    CpuDecoder dec(theta, m, layout, 2);
    const auto columns = idx.t().contiguous();  // (16, 2)
    const double tol = 1e-4 * (1 + full.abs().max().item<double>());
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t t = 0; t < 16; ++t) {
        const float* logits = dec.step(columns[t].data_ptr<int64_t>());
        const auto mine = torch::from_blob(const_cast<float*>(logits), {2, dec.vocab()}, torch::kFloat32);
        const double diff = (mine - full.select(1, t)).abs().max().item<double>();
        QVERIFY2(diff <= tol, qPrintable(QString("pass %1, position %2: %3").arg(pass).arg(t).arg(diff)));
      }
      QCOMPARE(dec.length(), int64_t(16));
      QVERIFY_THROWS_EXCEPTION(std::exception, dec.step(columns[0].data_ptr<int64_t>()));  // past block_size
      dec.reset();
    }
    // With the weights in half: near the float32 logits (half's 11-bit significand), not equal.
    CpuDecoder half(theta, m, layout, 2, /*f16_weights=*/true);
    double worst = 0;
    for (int64_t t = 0; t < 16; ++t) {
      const float* logits = half.step(columns[t].data_ptr<int64_t>());
      const auto mine = torch::from_blob(const_cast<float*>(logits), {2, half.vocab()}, torch::kFloat32);
      worst = std::max(worst, (mine - full.select(1, t)).abs().max().item<double>());
    }
    QVERIFY2(worst > 0 && worst <= 1e-2 * (1 + full.abs().max().item<double>()), qPrintable(QString::number(worst)));
  }

  void greedyGenerationFollowsTheFullForward() {
    const int k = 2;
    SoupBank bank(tiny_model(), tiny_bank(2), k, torch::kCPU);
    bank.init(5);
    QTemporaryDir dir;
    TrainState s;
    s.config.model = tiny_model();
    s.config.bank = tiny_bank(2);
    s.domains = {"a", "b"};
    const std::string path = dir.filePath("g.ckpt").toStdString();
    save_checkpoint(path, bank, nullptr, s);
    auto model = Model::load(path, "cpu");
    auto spec = model->instantiate(model->weights({0.3, 0.7}));
    SampleOptions o;
    o.temperature = 0;  // greedy: deterministic
    o.max_new_tokens = 40;  // runs past block_size (16), so the cache restarts
    std::string streamed;
    const std::string text = spec->generate("ab", o, [&](const std::string& piece) {
      streamed += piece;
      return true;
    });
    QCOMPARE(streamed, text);
    QCOMPARE(int(text.size()), 40);
    // The first block_size - 2 bytes equal a naive greedy loop over the whole sequence.
    std::vector<int64_t> seq{'a', 'b'};
    for (int i = 0; i < 14; ++i) {
      const auto logits = spec->logits(seq, 1, int(seq.size()));
      const float* last = logits.data() + (seq.size() - 1) * 256;
      seq.push_back(std::max_element(last, last + 256) - last);
      QCOMPARE(int(static_cast<unsigned char>(text[size_t(i)])), int(seq.back()));
    }

    // Several samples in one batch (generate_samples): greedily, every row is the single
    // greedy text, through the cache restart too; each row's pieces stream to its own index.
    std::vector<std::string> rows(3);
    const auto batch = spec->generate_samples("ab", o, 3, [&](int row, const std::string& piece) {
      rows.at(size_t(row)) += piece;
      return true;
    });
    QCOMPARE(int(batch.size()), 3);
    for (int r = 0; r < 3; ++r) {
      QCOMPARE(batch[size_t(r)], text);
      QCOMPARE(rows[size_t(r)], text);
    }
    // Sampled, the rows draw their own bytes; the same seed gives the same rows again, and one
    // sample is generate()'s text at that seed.
    SampleOptions hot;
    hot.temperature = 1.0;
    hot.top_k = 0;
    hot.max_new_tokens = 30;
    hot.seed = 11;
    const auto sampled = spec->generate_samples("ab", hot, 4);
    QVERIFY(std::set<std::string>(sampled.begin(), sampled.end()).size() > 1);
    QCOMPARE(spec->generate_samples("ab", hot, 4), sampled);
    QCOMPARE(spec->generate_samples("ab", hot, 1).front(), spec->generate("ab", hot));
    // Stopping from the callback stops every row; a bad count is a clear error.
    int pieces = 0;
    spec->generate_samples("ab", hot, 4, [&](int, const std::string&) { return ++pieces < 5; });
    QCOMPARE(pieces, 5);
    QVERIFY_THROWS_EXCEPTION(Error, spec->generate_samples("ab", hot, 0));
    // f16 weights: the same greedy text here (a tiny model far from ties), refused where no
    // float32 CPU decoder applies.
    SampleOptions half = o;
    half.f16_weights = true;
    QCOMPARE(spec->generate("ab", half).size(), text.size());
    auto bf16_model = Model::load(path, "cpu", "bf16");
    auto bf16_spec = bf16_model->instantiate(bf16_model->weights({0.3, 0.7}));
    QVERIFY_THROWS_EXCEPTION(Error, bf16_spec->generate("ab", half));
    QCOMPARE(int(bf16_spec->generate("ab", o).size()), 40);  // the libtorch path still serves it
  }
};

QTEST_APPLESS_MAIN(TestSoupModel)
#include "test_soup_model.moc"
