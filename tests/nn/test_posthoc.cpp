// Post-hoc experts (issue 9): LoRA with B = 0 is the base; PHATGOOSE routing picks the expert
// whose gate matches a crafted token and its top-2 weights sum to 1; a WEMoE router at
// initialisation reproduces task arithmetic; and the whole chain (experts -> PHATGOOSE / WEMoE
// -> Bank::load -> evaluation, generation) runs on a tiny real training, logged as runs.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>

#include <filesystem>

#include "souplab/error.h"
#include "souplab/run_log.h"
#include "souplab/inspect.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/posthoc.h"
#include "souplab/posthoc.h"
#include "souplab/trainer.h"
#include "tiny_corpus.h"

using namespace souplab;

namespace {

ModelConfig tiny_model() {
  ModelConfig c;
  c.n_layer = 2;
  c.n_embd = 32;
  c.n_head = 4;
  c.block_size = 16;
  return c;
}

torch::Tensor random_theta(const ModelConfig& c, uint64_t seed) {
  const ParamLayout layout = gpt_param_layout(c);
  auto theta = torch::empty({layout.total});
  init_params(theta, layout, 1.0, 1.0, torch::make_generator<torch::CPUGeneratorImpl>(seed));
  return theta;
}

torch::Tensor random_tokens(int B, int T, uint64_t seed) {
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  return torch::randint(0, 256, {B, T}, gen, torch::kInt64);
}

}  // namespace

class TestPosthoc : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    torch::set_num_threads(2);
    test_util::isolate_in(m_tmp);
  }

  void loraWithZeroBLeavesTheBaseUnchanged() {
    torch::NoGradGuard g;
    const ModelConfig c = tiny_model();
    const ParamLayout layout = gpt_param_layout(c);
    const auto theta = random_theta(c, 1);
    const auto idx = random_tokens(2, 16, 2);
    LoraExpert e = LoraExpert::init(c, 4, torch::kCPU, 3);
    LoraMixAdapter ad({&e}, {1.0});
    const auto base = gpt_forward(theta, c, layout, idx);
    QVERIFY(torch::equal(gpt_forward(theta, c, layout, idx, &ad), base));
    // A non-zero B does change the output (so the hook is really in the forward).
    e.B[size_t(kLinearSites) + 2].normal_(0, 1);
    QVERIFY((gpt_forward(theta, c, layout, idx, &ad) - base).abs().max().item<double>() > 1e-3);
  }

  void phatgooseRoutesToTheMatchingGate() {
    torch::NoGradGuard g;
    const ModelConfig c = tiny_model();
    const int n = 4;
    std::vector<LoraExpert> experts;
    for (int i = 0; i < n; ++i) experts.push_back(LoraExpert::init(c, 2, torch::kCPU, 10 + i));
    const size_t modules = size_t(c.n_layer) * kLinearSites;
    std::vector<torch::Tensor> vectors;
    auto gen = torch::make_generator<torch::CPUGeneratorImpl>(5);
    for (size_t m = 0; m < modules; ++m) {
      const int64_t in = experts[0].A[m].size(0);
      vectors.push_back(torch::randn({n, in}, gen));
    }
    RoutedLoraAdapter router(experts, vectors, 2, false);
    // A token equal to expert 2's gate vector (scaled and shifted: LN removes both) goes to 2.
    const size_t m = 5;
    auto token = (vectors[m][2] * 3.0 + 0.7).unsqueeze(0);
    auto w = router.routing_weights(m, token);  // (1, n)
    QCOMPARE(w.argmax(-1).item<int64_t>(), int64_t(2));
    // Top-2 per token: exactly two experts, weights summing to 1, on random tokens.
    auto x = torch::randn({64, experts[0].A[m].size(0)}, gen);
    auto wx = router.routing_weights(m, x);
    QVERIFY(torch::allclose(wx.sum(-1), torch::ones({64}), 1e-6, 1e-6));
    QVERIFY(torch::equal((wx > 0).sum(-1), torch::full({64}, 2, torch::kLong)));
    // The mixed output is base + the weighted LoRA deltas of the kept experts.
    for (auto& e : experts) e.B[m].normal_(0, 1, gen);
    RoutedLoraAdapter router2(experts, vectors, 2, false);
    auto y = torch::randn({64, experts[0].B[m].size(1)}, gen);
    auto out = router2.linear(int(m / kLinearSites), LinearSite(m % kLinearSites), x, y);
    auto expect = y.clone();
    for (int i = 0; i < n; ++i) expect += wx.select(1, i).unsqueeze(1) * experts[size_t(i)].delta(m, x);
    QVERIFY(torch::allclose(out, expect, 1e-4, 1e-5));
  }

  void wemoeAtInitialisationIsTaskArithmetic() {
    torch::NoGradGuard g;
    const ModelConfig c = tiny_model();
    const ParamLayout layout = gpt_param_layout(c);
    const auto theta0 = random_theta(c, 1);
    std::vector<torch::Tensor> experts;
    for (int i = 0; i < 3; ++i) experts.push_back(theta0 + 0.05 * random_theta(c, 20 + i));
    const double lambda = 0.3;
    auto ta = theta0.clone();
    for (const auto& e : experts) ta += lambda * (e - theta0);
    WemoeAdapter ad(WemoeAdapter::make_layers(theta0, experts, c, 0, 7), lambda);
    const auto idx = random_tokens(3, 16, 4);
    const auto expect = gpt_forward(ta, c, layout, idx);
    const auto got = gpt_forward(ta, c, layout, idx, &ad);
    QVERIFY2(torch::allclose(got, expect, 1e-4, 1e-5),
             qPrintable(QString("max diff %1").arg((got - expect).abs().max().item<double>())));
    // With the KV cache (generation), the prefix-mean routing gives the same logits.
    for (auto& L : ad.layers()) L.w2.normal_(0, 1);  // a trained-looking router
    const auto full = gpt_forward(ta, c, layout, idx, &ad);
    QVERIFY((full - expect).abs().max().item<double>() > 1e-3);  // the router does matter
    KVCache cache;
    auto a = gpt_forward_cached(ta, c, layout, idx.narrow(1, 0, 9), cache, &ad);
    auto b = gpt_forward_cached(ta, c, layout, idx.narrow(1, 9, 7), cache, &ad);
    QVERIFY(torch::allclose(torch::cat({a, b}, 1), full, 1e-4, 1e-5));
    // Causal: changing the last token leaves every earlier position's logits as they were.
    auto idx2 = idx.clone();
    idx2.select(1, 15).fill_(7);
    auto changed = gpt_forward(ta, c, layout, idx2, &ad);
    QVERIFY(torch::allclose(changed.narrow(1, 0, 15), full.narrow(1, 0, 15), 1e-5, 1e-6));
  }

  void expertsPhatgooseAndWemoeEndToEnd() {
    const QString corpus = m_tmp.filePath("corpus");
    test_util::make_corpus(corpus, 3, 40000);
    const std::string log_path = m_tmp.filePath("runs.sqlite").toStdString();
    RunConfig rc;
    rc.model = tiny_model();
    rc.model.block_size = 32;
    rc.train.kind = ModelKind::kDense;
    rc.train.corpus_dir = corpus.toStdString();
    rc.train.out_dir = m_tmp.filePath("base").toStdString();
    rc.train.steps = 60;
    rc.train.batch_size = 8;
    rc.train.lr = 3e-3;
    rc.train.warmup_steps = 5;
    rc.train.eval_interval = 60;
    rc.train.eval_windows = 4;
    rc.train.checkpoint_interval = 60;
    rc.train.threads = 2;
    auto trainer = Trainer::start_new(rc, log_path);
    trainer->run({});
    const std::string base = trainer->last_checkpoint();
    const int64_t base_run = trainer->run_id();

    ExpertsOptions eo;
    eo.run_log_path = log_path;
    eo.rank = 4;
    eo.steps = 40;
    eo.lr = 3e-2;
    eo.eval_windows = 4;
    const std::string lora_dir = m_tmp.filePath("lora").toStdString();
    const ExpertsResult er = train_experts(base, lora_dir, eo);
    QCOMPARE(er.domains.size(), size_t(3));
    double gain = 0;
    for (size_t i = 0; i < 3; ++i) {  // each expert learned its own domain
      QVERIFY2(er.own_loss_expert[i] < er.own_loss_base[i],
               qPrintable(QString("%1: %2 -> %3").arg(i).arg(er.own_loss_base[i]).arg(er.own_loss_expert[i])));
      gain += (er.own_loss_base[i] - er.own_loss_expert[i]) / 3;
    }
    QVERIFY2(gain > 0.01, qPrintable(QString("mean gain %1").arg(gain)));
    QVERIFY_THROWS_EXCEPTION(Error, train_experts(base, lora_dir, eo));  // exists, no overwrite
    // The experts folder is a model whose h picks the expert of its main domain.
    auto lora = Model::load(lora_dir, "cpu");
    QCOMPARE(int(lora->kind()), int(ModelKind::kLoraExperts));
    QVERIFY(lora->capabilities().can_instantiate && !lora->capabilities().can_export);

    PhatgooseOptions po;
    po.run_log_path = log_path;
    po.gate_steps = 10;
    po.eval_windows = 4;
    const std::string pg_dir = m_tmp.filePath("phatgoose").toStdString();
    build_phatgoose(lora_dir, pg_dir, po);
    auto pg = Model::load(pg_dir, "cpu");
    QCOMPARE(int(pg->kind()), int(ModelKind::kPhatgoose));
    auto spec = pg->instantiate(pg->weights(std::vector<double>(3, 1.0 / 3)));
    auto val = ValidationSet::for_model(pg->facts(), 4);
    auto losses = spec->evaluate(*val);
    auto base_bank = Model::load(base, "cpu");
    auto base_losses = base_bank->instantiate(base_bank->facts().training_mixture)->evaluate(*val);
    // Each domain's one-hot h runs that domain's expert: its own loss is the expert's.
    for (size_t d = 0; d < 3; ++d)
      QCOMPARE(lora->instantiate(DomainWeights::one_hot(lora->facts().domains, d))->evaluate(*val)[d],
               lora->instantiate(lora->weights(std::vector<double>{d == 0 ? 0.9 : 0.05, d == 1 ? 0.9 : 0.05,
                                                                   d == 2 ? 0.9 : 0.05}))
                   ->evaluate(*val)[d]);
    QCOMPARE(losses.size(), size_t(3));
    double mean_pg = 0, mean_base = 0;
    for (size_t i = 0; i < 3; ++i) mean_pg += losses[i] / 3, mean_base += base_losses[i] / 3;
    // Routing among weak experts need not beat the base on a toy, but must not wreck it.
    QVERIFY2(std::isfinite(mean_pg) && mean_pg < mean_base + 0.15,
             qPrintable(QString("phatgoose %1 vs base %2").arg(mean_pg).arg(mean_base)));
    // Routed among experts per token: not one dense model, so neither exported nor merged.
    QVERIFY(!pg->capabilities().can_export && !pg->capabilities().can_instantiate);
    QVERIFY_THROWS_EXCEPTION(Error, pg->instantiate_dense({}));
    QVERIFY_THROWS_EXCEPTION(Error, pg->export_specialist({}, m_tmp.filePath("pg-export").toStdString(), {}));
    QCOMPARE(spec->generate("ab", SampleOptions{0.8, 40, 20, 1}).size(), size_t(20));
    // Inside the model (issue 32): the mean routing weight per block and expert, measured on the
    // validation windows; each token's top-2 weights sum to 1, so every block's row does too, and
    // a mixed h gives the h-mix of the one-hot rows.
    auto routing_is_an_h_mix = [&](const Model& m, const std::vector<double>& mix, MixingRole* out) {
      std::vector<MixingRole> onehot;
      for (size_t d = 0; d < 3; ++d) onehot.push_back(m.mixing_role(DomainWeights::one_hot(m.facts().domains, d), val.get()));
      const MixingRole mixed = m.mixing_role(m.weights(mix), val.get());
      QCOMPARE(int(mixed.rows.size()), 2);  // the two blocks
      QCOMPARE(int(mixed.columns.size()), 3);
      for (size_t b = 0; b < 2; ++b)
        for (size_t e = 0; e < 3; ++e) {
          double expect = 0;
          for (size_t d = 0; d < 3; ++d) expect += mix[d] * onehot[d].values[b][e];
          QVERIFY(std::isfinite(mixed.values[b][e]) && std::abs(mixed.values[b][e] - expect) < 1e-12);
        }
      *out = mixed;
    };
    MixingRole routed;
    routing_is_an_h_mix(*pg, {0.2, 0.5, 0.3}, &routed);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(QString::fromStdString(routed.role), QString("routing weight"));
    for (const auto& row : routed.values) {
      double sum = 0;
      for (double v : row) sum += v;
      QVERIFY2(std::abs(sum - 1.0) < 1e-6, qPrintable(QString::number(sum)));
    }
    QVERIFY_THROWS_EXCEPTION(Error, pg->mixing_role({}, nullptr));
    for (Router router : {Router::kPrototype, Router::kArrow, Router::kMerged}) {
      po.router = router;
      po.overwrite = true;
      build_phatgoose(lora_dir, pg_dir, po);
      auto routed_model = Model::load(pg_dir, "cpu");
      auto l = routed_model->instantiate({})->evaluate(*val);
      QVERIFY(std::isfinite(l[0]));
      if (router == Router::kMerged)  // the plain average: exactly 1/3 everywhere
        for (const auto& row : routed_model->mixing_role({}, val.get()).values)
          for (double v : row) QVERIFY(std::abs(v - 1.0 / 3) < 1e-7);  // float32 1/3
    }

    eo.kind = ExpertKind::kFull;
    eo.steps = 20;
    const std::string full_dir = m_tmp.filePath("full").toStdString();
    train_experts(base, full_dir, eo);
    QVERIFY(std::filesystem::exists(full_dir + "/expert_" + er.domains[0] + "/model.safetensors"));
    // Full experts are dense: domain 0's h gives exactly its exported expert.
    auto full = Model::load(full_dir, "cpu");
    QCOMPARE(int(full->kind()), int(ModelKind::kFullExperts));
    QVERIFY(full->capabilities().can_export);
    QCOMPARE(full->instantiate_dense(DomainWeights::one_hot(full->facts().domains, 0))->parameters(),
             Model::load(full_dir + "/expert_" + er.domains[0], "cpu")->instantiate_dense({})->parameters());
    // Inside the model (issue 32): h chooses the expert of its largest weight, nothing is mixed.
    const MixingRole chosen = full->mixing_role(full->weights({0.2, 0.7, 0.1}), nullptr);
    QCOMPARE(QString::fromStdString(chosen.role), QString("expert chosen"));
    QCOMPARE(chosen.columns, er.domains);
    std::vector<double> one(er.domains.size(), 0.0);
    const auto second = std::find(er.domains.begin(), er.domains.end(), full->facts().domains[1]) - er.domains.begin();
    if (size_t(second) < one.size()) one[size_t(second)] = 1.0;
    QCOMPARE(chosen.values, (std::vector<std::vector<double>>{one}));
    WemoeOptions wo;
    wo.run_log_path = log_path;
    wo.steps = 10;
    wo.lr = 1e-3;
    wo.eval_windows = 4;
    wo.target_weights = base_bank->weights({0.5, 0.5, 0.0});
    const std::string we_dir = m_tmp.filePath("wemoe").toStdString();
    const WemoeResult wr = build_wemoe(base, full_dir, we_dir, wo);
    QVERIFY(std::isfinite(wr.target_loss_start) && std::isfinite(wr.target_loss_end));
    auto we = Model::load(we_dir, "cpu");
    QCOMPARE(int(we->kind()), int(ModelKind::kWemoe));
    QVERIFY(std::isfinite(we->instantiate({})->evaluate(*val)[2]));
    // Its routing: the mean coefficient r_i per block and expert, an h-mix like PHATGOOSE's.
    MixingRole merged;
    routing_is_an_h_mix(*we, {0.6, 0.1, 0.3}, &merged);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(QString::fromStdString(merged.role), QString("merge coefficient"));

    // Every training is a run, child of the base's run.
    RunLog log(log_path);
    std::map<std::string, int> kinds;
    for (const auto& r : log.list_runs()) {
      if (r.id == base_run) continue;
      ++kinds[r.kind];
      QCOMPARE(r.parent_run_id.value_or(-1), base_run);
      QCOMPARE(r.status, std::string("finished"));
    }
    QCOMPARE(kinds["lora_expert"], 3);
    QCOMPARE(kinds["full_expert"], 3);
    QCOMPARE(kinds["phatgoose_gates"], 3);
    QCOMPARE(kinds["wemoe_router"], 1);
  }

  void badFoldersGiveErrorsNamingTheFile() {
    const std::string dir = m_tmp.filePath("bad").toStdString();
    std::filesystem::create_directories(dir);
    test_util::write_text(QString::fromStdString(dir + "/manifest.json"), "{\"method\": \"phatgoose\"");
    try {
      Model::load(dir, "cpu");
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("manifest.json") != std::string::npos);
    }
  }
};

QTEST_GUILESS_MAIN(TestPosthoc)
#include "test_posthoc.moc"
