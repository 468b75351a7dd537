// The soup and its instantiation (issue: foundation): soup-at-h logits equal the instantiated
// model's; gradients reach shared, experts and the coefficient MLP; h is validated; parameter
// counts match the formula; libtorch's forward equals a plain C++ reference of the same math.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/param_layout.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/gpt.h"
#include "engine/nn/soup.h"
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
    for (double l1 : {1.0, 0.25, 6.0}) {
      BankConfig b = tiny_bank(n);
      b.alpha_init_l1 = l1;
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
    TrainState s;
    s.config.model = tiny_model();
    s.config.bank = tiny_bank(n);
    s.config.bank.n_domains = k;
    for (int i = 0; i < k; ++i) s.domains.push_back("d" + std::to_string(i));
    const std::string path = dir.filePath("bank.ckpt").toStdString();
    save_checkpoint(path, bank, nullptr, s);
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
  }
};

QTEST_APPLESS_MAIN(TestSoupModel)
#include "test_soup_model.moc"
