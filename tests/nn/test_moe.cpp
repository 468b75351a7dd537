// The sparse mixture-of-experts (issue 8, docs/DESIGN.md §1.2): routing picks the argmax expert(s);
// capacity drops are counted right on a crafted batch; the load-balancing loss is at its
// minimum a under uniform routing; gradients reach router and experts; a tiny MoE's loss falls,
// resumes exactly and opens as a Model; its config section parses strictly.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/run_log.h"
#include "engine/core/safetensors.h"
#include "souplab/inspect.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/gpt.h"
#include "engine/nn/moe.h"
#include "souplab/trainer.h"
#include "checkpoint_tensors.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

using namespace souplab;

namespace {

RunConfig tiny_moe_config(const QString& corpus, const QString& out, int64_t steps) {
  RunConfig c = test_util::tiny_run_config(corpus, out, steps);
  c.model.n_layer = 2;
  c.model.n_embd = 32;
  c.moe.n_experts = 4;
  c.moe.top_k = 2;
  c.train.kind = ModelKind::kMoe;
  c.train.seed = 7;
  return c;
}

using test_util::tensors_of;

}  // namespace

class TestMoe : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_corpus;
  std::string m_log;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_corpus = test_util::corpus_in(m_tmp, 3, 40000);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
    torch::manual_seed(3);
  }

  void routingPicksTheArgmaxExperts() {
    auto x = torch::randn({64, 16});
    auto w = torch::randn({16, 6});
    auto probs = torch::matmul(x, w).softmax(-1);
    auto top1 = route_tokens(x, w, 1, 100.0);
    QVERIFY(top1.expert.select(1, 0).equal(probs.argmax(-1)));
    QVERIFY(torch::allclose(top1.gate.select(1, 0), std::get<0>(probs.max(-1))));  // Switch: gate = p
    QVERIFY(top1.keep.all().item<bool>());  // capacity 100x: nothing dropped

    auto top2 = route_tokens(x, w, 2, 100.0);
    auto ref = std::get<1>(probs.topk(2, -1));
    QVERIFY(top2.expert.equal(ref));
    QVERIFY(!top2.expert.select(1, 0).equal(top2.expert.select(1, 1)));
    // GShard: the pair's gates renormalised, in the ratio of their probabilities.
    QVERIFY(torch::allclose(top2.gate.sum(-1), torch::ones({64})));
    auto p1 = probs.gather(1, ref.narrow(1, 0, 1)).squeeze(1), p2 = probs.gather(1, ref.narrow(1, 1, 1)).squeeze(1);
    QVERIFY(torch::allclose(top2.gate.select(1, 0), p1 / (p1 + p2)));
    QCOMPARE(top2.logits.scalar_type(), torch::kFloat32);
  }

  void capacityDropsAreCountedOnACraftedBatch() {
    // Router = identity over 4 experts; token t goes to expert chosen[t] (a large logit).
    const std::vector<int64_t> chosen = {0, 0, 1, 0, 0, 2, 0, 0};  // expert 0: six tokens
    auto x = torch::zeros({8, 4});
    for (int t = 0; t < 8; ++t) x[t][chosen[t]] = 10.0 + t;
    auto w = torch::eye(4);
    // capacity = ceil(1.0 * 1 * 8 / 4) = 2: expert 0 keeps its first two tokens, drops four.
    QCOMPARE(expert_capacity(8, 4, 1, 1.0), int64_t(2));
    auto r = route_tokens(x, w, 1, 1.0);
    QCOMPARE(r.capacity, int64_t(2));
    const std::vector<int64_t> want_pos = {0, 1, 0, 2, 3, 0, 4, 5};
    for (int t = 0; t < 8; ++t) {
      QCOMPARE(r.position[t][0].item<int64_t>(), want_pos[t]);
      QCOMPARE(r.keep[t][0].item<bool>(), want_pos[t] < 2);
    }
    QCOMPARE((~r.keep).sum().item<int64_t>(), int64_t(4));

    // Dropped tokens get exactly nothing from the experts; kept ones get gate * their expert.
    const int64_t C = 4, E = 4;
    auto fc_w = torch::randn({E, C, 4 * C}), fc_b = torch::randn({E, 4 * C});
    auto proj_w = torch::randn({E, 4 * C, C}), proj_b = torch::randn({E, C});
    auto y = dispatch_experts(x, r, fc_w, fc_b, proj_w, proj_b);
    for (int t = 0; t < 8; ++t) {
      const int64_t e = chosen[t];
      if (want_pos[t] >= 2) {
        QVERIFY2(y[t].abs().max().item<float>() == 0.0f, qPrintable(QString("token %1").arg(t)));
        continue;
      }
      auto h = torch::gelu(torch::addmm(fc_b[e], x[t].unsqueeze(0), fc_w[e]), "tanh");
      auto ref = torch::addmm(proj_b[e], h, proj_w[e]).squeeze(0) * r.gate[t][0];
      QVERIFY2(torch::allclose(y[t], ref, 1e-4, 1e-5), qPrintable(QString("token %1").arg(t)));
    }

    // Top-2: all first choices are placed before any second choice.
    auto w2 = torch::eye(4);
    auto x2 = torch::zeros({4, 4});
    for (int t = 0; t < 4; ++t) {
      x2[t][t % 2] = 5.0;        // first choice: expert 0 or 1
      x2[t][2 + t % 2] = 4.0;    // second choice: expert 2 or 3
    }
    x2[3][0] = 4.5;  // token 3: first choice 1 (5.0), second choice 0 (4.5)
    auto r2 = route_tokens(x2, w2, 2, 0.5);  // capacity = ceil(0.5 * 2 * 4 / 4) = 1
    QCOMPARE(r2.capacity, int64_t(1));
    // Expert 0: first choice of token 0 (slot 0), second choice of token 3 (after token 2's first).
    QCOMPARE(r2.expert[3][1].item<int64_t>(), int64_t(0));
    QCOMPARE(r2.position[3][1].item<int64_t>(), int64_t(2));  // behind tokens 0 and 2's first choices
    QCOMPARE(r2.position[1][0].item<int64_t>(), int64_t(0));
    QVERIFY(!r2.keep[2][0].item<bool>());  // expert 0's second first-choice: over capacity 1
  }

  void balanceLossIsAtItsMinimumUnderUniformRouting() {
    const double a = 0.01;
    const int64_t E = 4, N = 64;
    auto x = torch::randn({N, 8});
    // A zero router: every probability exactly 1/E.
    auto uniform = route_tokens(x, torch::zeros({8, E}), 2, 2.0);
    QVERIFY(std::abs(load_balancing_loss(uniform, a).item<double>() - a) < 1e-7);
    // Confident but perfectly balanced routing (each expert gets N/E tokens): also a.
    auto xb = torch::zeros({N, E});
    for (int t = 0; t < N; ++t) xb[t][t % E] = 30.0;
    auto balanced = route_tokens(xb, torch::eye(E), 1, 2.0);
    QVERIFY(std::abs(load_balancing_loss(balanced, a).item<double>() - a) < 1e-6);
    // Everything on one expert: a * E, the maximum.
    auto xs = torch::zeros({N, E});
    xs.select(1, 0).fill_(30.0);
    auto skewed = route_tokens(xs, torch::eye(E), 1, 2.0);
    QVERIFY(std::abs(load_balancing_loss(skewed, a).item<double>() - a * E) < 1e-5);
    // z-loss: zero logits give logsumexp = log E.
    QVERIFY(std::abs(router_z_loss(uniform, 1e-3).item<double>() - 1e-3 * std::pow(std::log(4.0), 2)) < 1e-8);
  }

  void singleExpertEqualsTheDenseModel() {
    // E = 1, k = 1, ample capacity: the gate is 1 and the MoE is the dense model whose MLPs are
    // that expert's, so the whole forward must agree with gpt_forward.
    ModelConfig mc;
    mc.n_layer = 2;
    mc.n_embd = 32;
    mc.n_head = 4;
    mc.block_size = 16;
    MoeConfig moe;
    moe.n_experts = 1;
    moe.top_k = 1;
    MoeModel m(mc, moe, 1, torch::kCPU);
    m.init(5);
    torch::NoGradGuard no_grad;
    auto theta = m.theta().clone();
    const ParamLayout& layout = m.layout();
    for (const auto& [name, t] : m.named_parameters()) {
      if (name == "theta") continue;
      const std::string l = name.substr(4, name.find('.', 4) - 4), part = name.substr(name.rfind('.') + 1);
      const std::map<std::string, std::string> to = {{"fc_w", "mlp.c_fc.weight"}, {"fc_b", "mlp.c_fc.bias"},
                                                     {"proj_w", "mlp.c_proj.weight"}, {"proj_b", "mlp.c_proj.bias"}};
      if (!to.count(part)) continue;
      const ParamEntry& e = layout.at("h." + l + "." + to.at(part));
      theta.narrow(0, e.offset, e.numel).copy_(t.reshape({-1}));
    }
    auto idx = torch::randint(0, 256, {2, 16}, torch::kInt64);
    auto dense = gpt_forward(theta, mc, layout, idx);
    auto sparse = m.forward(idx, 4.0, nullptr);
    QVERIFY2(torch::allclose(dense, sparse, 1e-4, 1e-5),
             qPrintable(QString("max diff %1").arg((dense - sparse).abs().max().item<float>())));
  }

  void gradientsReachRouterAndExperts() {
    ModelConfig mc;
    mc.n_layer = 2;
    mc.n_embd = 32;
    mc.n_head = 4;
    mc.block_size = 16;
    MoeConfig moe;
    moe.n_experts = 4;
    moe.every = 2;  // block 1 only
    moe.balance_coef = 0;  // the router must learn through the gates alone
    moe.z_loss_coef = 0;
    MoeModel m(mc, moe, 2, torch::kCPU);
    m.init(1);
    QCOMPARE(int(m.moe_layers().size()), 1);
    QCOMPARE(m.moe_layers()[0], 1);
    auto batch = torch::randint(0, 256, {4, 17}, torch::kInt64);
    auto loss = m.training_loss({{0.5, 0.5}}, batch.narrow(1, 0, 16), batch.narrow(1, 1, 16));
    loss.loss.backward();
    for (const auto& [name, t] : m.named_parameters()) {
      QVERIFY2(t.grad().defined(), name.c_str());
      if (name.find("_b") != std::string::npos) continue;  // biases of idle experts may be 0
      QVERIFY2(t.grad().abs().sum().item<double>() > 0, qPrintable(QString("no gradient: %1").arg(name.c_str())));
    }
    // Every expert that received tokens has a gradient; block 0 keeps its dense MLP's gradient,
    // block 1's unused dense MLP gets none.
    auto g = m.named_parameters()[2].second.grad();  // moe.1.fc_w (E, C, 4C)
    QVERIFY(g.abs().sum({1, 2}).gt(0).sum().item<int64_t>() >= 2);
    const auto& e0 = m.layout().at("h.0.mlp.c_fc.weight");
    const auto& e1 = m.layout().at("h.1.mlp.c_fc.weight");
    auto tg = m.theta().grad();
    QVERIFY(tg.narrow(0, e0.offset, e0.numel).abs().sum().item<double>() > 0);
    QCOMPARE(tg.narrow(0, e1.offset, e1.numel).abs().sum().item<double>(), 0.0);
    // The metrics the trainer logs, in a fixed order.
    QCOMPARE(loss.metrics.size(), size_t(3));
    QCOMPARE(QString::fromStdString(loss.metrics[0].first), QString("balance_loss"));
  }

  void configSectionParsesStrictly() {
    RunConfig c = parse_run_config(
        R"({"moe": {"n_experts": 6, "top_k": 1, "every": 2, "capacity_factor_train": 1.5},
            "train": {"kind": "moe"}})", "moe.json");
    QCOMPARE(c.moe.n_experts, 6);
    QCOMPARE(c.moe.top_k, 1);
    QCOMPARE(c.moe.every, 2);
    QCOMPARE(c.moe.capacity_factor_train, 1.5);
    QCOMPARE(c.moe.capacity_factor_eval, 2.0);  // default kept
    QCOMPARE(c.moe.balance_coef, 0.01);
    QCOMPARE(c.moe.z_loss_coef, 1e-3);
    validate(c);
    const RunConfig back = parse_run_config(to_json(c), "roundtrip");
    QCOMPARE(QString::fromStdString(to_json(back)), QString::fromStdString(to_json(c)));
    auto fails = [](const std::string& json, const QString& fragment) {
      try {
        validate(parse_run_config(json, "bad.json"));
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains(fragment), e.what());
        return;
      }
      QFAIL(qPrintable("accepted: " + QString::fromStdString(json)));
    };
    fails(R"({"moe": {"experts": 4}})", "unknown key \"experts\"");
    fails(R"({"moe": {"top_k": 3}})", "top_k");
    fails(R"({"moe": {"n_experts": 1, "top_k": 2}})", "exceeds moe.n_experts");
    fails(R"({"moe": {"top_k": "2"}})", "expected an integer");
    fails(R"({"moe": {"every": 5}, "train": {"kind": "moe"}})", "exceeds n_layer");
    fails(R"({"train": {"kind": "sparse"}})", "soup, dense or moe");
    // Counts: active = shared + k experts + router < total.
    RunConfig m;
    m.train.kind = ModelKind::kMoe;
    m.moe.n_experts = 8;
    m.moe.top_k = 2;
    const ParamCounts pc = param_counts(m, 4);
    const int64_t C = m.model.n_embd, L = m.model.n_layer, mlp = 8 * C * C + 5 * C;
    QCOMPARE(pc.total, pc.base + L * (7 * mlp + C * 8));
    QCOMPARE(pc.active, pc.base + L * (1 * mlp + C * 8));
    QCOMPARE(pc.instantiated, pc.total);
  }

  void tinyMoeTrainsResumesExactlyAndOpensAsABank() {
    // Uninterrupted 40 steps, and the same run stopped at 13 and resumed.
    RunConfig c = tiny_moe_config(m_corpus, m_tmp.filePath("moe-straight"), 40);
    std::vector<double> losses;
    TrainCallbacks cb;
    cb.on_progress = [&](const TrainProgress& p) { losses.push_back(p.train_loss); };
    auto straight = Trainer::start_new(c, m_log, cb);
    QCOMPARE(int(straight->run(cb)), int(TrainOutcome::kFinished));
    QCOMPARE(int(losses.size()), 8);
    qInfo("tiny MoE train loss %.4f -> %.4f", losses.front(), losses.back());
    QVERIFY2(losses.back() < losses.front() - 0.5,
             qPrintable(QString("loss %1 -> %2").arg(losses.front()).arg(losses.back())));

    RunConfig c2 = tiny_moe_config(m_corpus, m_tmp.filePath("moe-resumed"), 40);
    auto first = Trainer::start_new(c2, m_log);
    TrainCallbacks stop;
    stop.should_stop = [&] { return first->step() == 13; };
    QCOMPARE(int(first->run(stop)), int(TrainOutcome::kStopped));
    const std::string mid = first->last_checkpoint();
    first.reset();
    auto resumed = Trainer::resume(mid, m_log);
    QCOMPARE(resumed->step(), int64_t(13));
    QCOMPARE(int(resumed->run({})), int(TrainOutcome::kFinished));
    const auto a = tensors_of(straight->last_checkpoint()), b = tensors_of(resumed->last_checkpoint());
    QCOMPARE(a.size(), b.size());
    QVERIFY(a.count("moe.0.router") && a.count("moe.1.fc_w") && a.count("adam.m.moe.1.proj_w"));
    for (const auto& [name, values] : a)
      QVERIFY2(b.count(name) && values == b.at(name), qPrintable(QString("tensor %1 differs").arg(name.c_str())));

    // The run log holds the aux losses, the dropped fraction and the expert load per domain.
    RunLog log(m_log);
    QCOMPARE(QString::fromStdString(log.get_run(straight->run_id()).kind), QString("moe"));
    std::map<std::string, int> train_names;
    std::map<std::pair<std::string, int64_t>, double> load_sum;  // (domain, layer) at the end
    std::map<std::pair<std::string, std::string>, double> logged_load;  // (domain, metric) at the end
    for (const auto& m : log.metrics(straight->run_id())) {
      if (m.split == "train") ++train_names[m.name];
      if (m.split == "val" && m.step == 40 && m.name.rfind("expert_load/L", 0) == 0)
      {
        load_sum[{m.domain, std::stoll(m.name.substr(13))}] += m.value;
        logged_load[{m.domain, m.name}] = m.value;
      }
      if (m.name == "balance_loss") QVERIFY(m.value > 0 && m.value <= 0.01 * 4 + 1e-6);  // at most a * E
      if (m.name == "dropped_frac") QVERIFY(m.value >= 0 && m.value <= 1);
    }
    QCOMPARE(train_names["balance_loss"], 8);
    QCOMPARE(train_names["z_loss"], 8);
    QCOMPARE(train_names["dropped_frac"], 8);
    QCOMPARE(int(load_sum.size()), 3 * 2);  // 3 domains x 2 MoE blocks
    for (const auto& [key, sum] : load_sum) QVERIFY(std::abs(sum - 1.0) < 1e-6);

    // It opens as a Model: one model for every h, evaluated and sampled, not exportable.
    auto bank = Model::load(straight->last_checkpoint(), "cpu");
    QCOMPARE(int(bank->kind()), int(ModelKind::kMoe));
    const ModelCapabilities can = bank->capabilities();
    QVERIFY(can.has_domains && !can.can_instantiate && !can.can_export && !can.can_fit_weights);
    QVERIFY(bank->facts().counts.active < bank->facts().counts.total);
    auto spec = bank->instantiate(DomainWeights::one_hot(bank->facts().domains, 0));
    auto val = ValidationSet::for_model(bank->facts(), 8);
    const auto per_domain = spec->evaluate(*val);
    QCOMPARE(int(per_domain.size()), 3);
    for (double l : per_domain) QVERIFY(std::isfinite(l) && l < 5.0);

    // Inside the model (issue 32): the router's load at a one-hot h is that domain's load as the
    // training logged it at this step (the same validation windows), each block's shares sum to 1,
    // and at a mixed h it is the h-mix of the domains' loads.
    auto eval_windows = ValidationSet::for_model(bank->facts(), c.train.eval_windows);
    std::vector<MixingRole> onehot;
    for (size_t d = 0; d < 3; ++d) {
      onehot.push_back(bank->mixing_role(DomainWeights::one_hot(bank->facts().domains, d), eval_windows.get()));
      const MixingRole& r = onehot.back();
      QCOMPARE(QString::fromStdString(r.role), QString("router load"));
      QCOMPARE(int(r.rows.size()), 2);
      QCOMPARE(int(r.columns.size()), 4);
      for (size_t b = 0; b < r.rows.size(); ++b) {
        double sum = 0;
        for (size_t e = 0; e < 4; ++e) {
          const std::string metric = "expert_load/L" + r.rows[b].substr(6) + "/E" + std::to_string(e);
          const auto it = logged_load.find({bank->facts().domains[d], metric});
          QVERIFY2(it != logged_load.end(), metric.c_str());
          QVERIFY2(std::abs(r.values[b][e] - it->second) < 1e-9,
                   qPrintable(QString("%1 %2: %3 vs logged %4").arg(d).arg(metric.c_str()).arg(r.values[b][e]).arg(it->second)));
          sum += r.values[b][e];
        }
        QVERIFY(std::abs(sum - 1.0) < 1e-9);
      }
    }
    const std::vector<double> mix{0.5, 0.3, 0.2};
    const MixingRole mixed = bank->mixing_role(bank->weights(mix), eval_windows.get());
    for (size_t b = 0; b < 2; ++b)
      for (size_t e = 0; e < 4; ++e) {
        double expect = 0;
        for (size_t d = 0; d < 3; ++d) expect += mix[d] * onehot[d].values[b][e];
        QVERIFY(std::abs(mixed.values[b][e] - expect) < 1e-12);
      }
    QVERIFY_THROWS_EXCEPTION(Error, bank->mixing_role(bank->weights(mix), nullptr));

    SampleOptions so;
    so.max_new_tokens = 40;  // more than the context: the KV cache restarts through the MoE too
    QCOMPARE(int(spec->generate("ab", so).size()) > 0, true);
    try {
      ModelExportOptions eo;
      bank->export_specialist(bank->weights({1, 0, 0}), m_tmp.filePath("moe-export").toStdString(), eo);
      QFAIL("a MoE was exported as a dense specialist");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("mixture-of-experts"), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestMoe)
#include "test_moe.moc"
