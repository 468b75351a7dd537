// Training on real data (issue: training): the loss falls; one-hot specialists beat the others on
// their own domain; stop + resume gives bit-identical parameters; checkpoints round-trip and
// bad ones give clear errors; every run lands in the run log.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/inspect.h"
#include "souplab/presets.h"
#include "souplab/run_log.h"
#include "engine/core/safetensors.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/nn/adamw.h"
#include "engine/nn/checkpoint.h"
#include "engine/nn/make_model.h"
#include "engine/nn/validation.h"
#include "souplab/trainer.h"
#include "checkpoint_tensors.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

using namespace souplab;

namespace {

RunConfig tiny_config(const QString& corpus, const QString& out, int64_t steps) {
  return test_util::tiny_run_config(corpus, out, steps);
}

using test_util::tensors_of;

}  // namespace

class TestTraining : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_corpus;
  std::string m_log;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_corpus = test_util::corpus_in(m_tmp, 3, 60000);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
  }

  void lossFallsAndSpecialistsSpecialise() {
    // 800 steps: the experts learn at expert_lr_scale x lr, so on this tiny model the one-hot
    // specialists need several hundred steps to pull apart (margins ~0.012 nats at 800).
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-falls"), 800);
    c.train.eval_interval = 800;
    std::vector<double> train_losses;
    std::vector<EvalResult> evals;
    TrainCallbacks cb;
    cb.on_progress = [&](const TrainProgress& p) { train_losses.push_back(p.train_loss); };
    cb.on_eval = [&](const EvalResult& r) { evals.push_back(r); };
    auto trainer = Trainer::start_new(c, m_log, cb);
    QCOMPARE(int(trainer->run(cb)), int(TrainOutcome::kFinished));
    QCOMPARE(int(train_losses.size()), int(c.train.steps / c.train.log_interval));
    QVERIFY2(train_losses.back() < train_losses.front() - 1.0,
             qPrintable(QString("train loss %1 -> %2").arg(train_losses.front()).arg(train_losses.back())));
    QCOMPARE(int(evals.size()), 2);  // at step 0 and at the end
    for (size_t d = 0; d < 3; ++d) QVERIFY(evals.back().loss_uniform[d] < evals.front().loss_uniform[d] - 1.0);

    // Each one-hot specialist is better on its own domain than the other specialists are.
    auto bank = Model::load(trainer->last_checkpoint(), "cpu");
    auto val = ValidationSet::for_model(bank->facts(), 96);  // ~3k tokens per domain
    std::vector<std::vector<double>> loss(3);  // loss[specialist][domain]
    for (size_t i = 0; i < 3; ++i)
      loss[i] = bank->instantiate(DomainWeights::one_hot(bank->facts().domains, i))->evaluate(*val);
    const auto uniform = bank->instantiate(DomainWeights::uniform(bank->facts().domains))->evaluate(*val);
    // Per-window losses (the explorer's error bars): they average to evaluate()'s, do not depend
    // on how the windows are split into calls, and stop at the domain's last window.
    const auto first = bank->instantiate(DomainWeights::one_hot(bank->facts().domains, 0));
    const auto means = first->evaluate(*val);
    for (size_t d = 0; d < 3; ++d) {
      const int n = val->windows(d);
      QVERIFY(n >= 8);
      const auto all = first->window_losses(*val, d, 0, n);
      QCOMPARE(int(all.size()), n);
      double sum = 0;
      for (double x : all) sum += x;
      QVERIFY2(std::abs(sum / n - means[d]) < 1e-9, qPrintable(QString("%1 vs %2").arg(sum / n).arg(means[d])));
      auto pieces = first->window_losses(*val, d, 0, 3);
      const auto rest = first->window_losses(*val, d, 3, n);  // asks past the end: clamped
      pieces.insert(pieces.end(), rest.begin(), rest.end());
      QCOMPARE(int(pieces.size()), n);
      for (int i = 0; i < n; ++i) QVERIFY(std::abs(pieces[size_t(i)] - all[size_t(i)]) < 1e-5);
      QVERIFY(first->window_losses(*val, d, n, 4).empty());
    }
    // Every prefix of the set's windows is spread over the split: of 8 evenly spaced windows
    // (the trainer's order), the set holds the first, then the middle one, then the quarters.
    {
      const auto eight = ValidationSet::for_model(bank->facts(), 8);
      CorpusOptions opts;
      opts.cache_dir = bank->facts().cache_dir;
      const auto cache = TokenCache::open(bank->facts().corpus_dir, opts);
      const auto spaced = load_validation_windows(*cache, eight->block_size(), 8);
      const std::vector<int64_t> order = {0, 4, 2, 6, 1, 5, 3, 7};
      for (size_t d = 0; d < 3; ++d) {
        QCOMPARE(eight->windows(d), 8);
        QVERIFY(torch::equal(eight->windows().domains[d].tokens,
                             spaced[d].tokens.index_select(0, torch::tensor(order))));
      }
    }

    for (size_t i = 0; i < 3; ++i)
      qInfo("specialist %zu: %.4f %.4f %.4f (uniform %.4f %.4f %.4f)", i, loss[i][0], loss[i][1],
            loss[i][2], uniform[0], uniform[1], uniform[2]);
    for (size_t d = 0; d < 3; ++d) {
      for (size_t i = 0; i < 3; ++i) {
        if (i == d) continue;
        QVERIFY2(loss[d][d] < loss[i][d],
                 qPrintable(QString("domain %1: own specialist %2, specialist %3 gets %4")
                                .arg(d).arg(loss[d][d]).arg(i).arg(loss[i][d])));
      }
      QVERIFY2(loss[d][d] < uniform[d], qPrintable(QString("domain %1: own %2 vs uniform %3")
                                                      .arg(d).arg(loss[d][d]).arg(uniform[d])));
    }
  }

  // Inside the soup at h (souplab-cli inspect): alpha(h) is the coefficients theta(h) is made
  // of (theta = S + alpha^T E with S and E read from the checkpoint file), and the distances are
  // those of the instantiated specialists, tensor by tensor and block by block.
  void inspectionIsTheBanksOwnParts() {
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-inspect"), 30);
    auto trainer = Trainer::start_new(c, m_log);
    QCOMPARE(int(trainer->run({})), int(TrainOutcome::kFinished));
    const std::string ckpt = trainer->last_checkpoint();
    auto bank = Model::load(ckpt, "cpu");
    const DomainWeights h = bank->weights({0.7, 0.2, 0.1});
    const SoupInspection in = bank->inspect(h);
    const auto file = tensors_of(ckpt);
    const std::vector<float>& S = file.at("S");
    const std::vector<float>& E = file.at("E");
    const size_t P = S.size(), n = size_t(c.bank.n_experts);
    QCOMPARE(in.alpha.size(), n);
    QCOMPARE(E.size(), n * P);
    const std::vector<float> theta = bank->instantiate_dense(h)->parameters();
    const std::vector<float> uniform = bank->instantiate_dense(bank->reference_weights())->parameters();
    double worst = 0;
    for (size_t i = 0; i < P; ++i) {
      double sum = S[i];
      for (size_t j = 0; j < n; ++j) sum += in.alpha[j] * E[j * P + i];
      worst = std::max(worst, std::abs(sum - theta[i]));
    }
    QVERIFY2(worst < 1e-5, qPrintable(QString("theta(h) - (S + alpha^T E): %1").arg(worst)));
    // At uniform h the specialist is the uniform one: no distance from it.
    const SoupInspection at_uniform = bank->inspect(bank->reference_weights());
    QCOMPARE(at_uniform.alpha, in.alpha_uniform);
    for (const ParamDistance& d : at_uniform.tensors) QCOMPARE(d.from_uniform, 0.0);
    // Distances from the instantiated thetas, per tensor and per block.
    const ParamLayout layout = gpt_param_layout(c.model);
    QCOMPARE(in.tensors.size(), layout.entries.size());
    QCOMPARE(int(in.blocks.size()), c.model.n_layer + 1);
    std::vector<double> block_num(in.blocks.size()), block_den(in.blocks.size()), block_s2(in.blocks.size());
    std::vector<std::vector<double>> expert_sq(n, std::vector<double>(in.blocks.size()));  // ||E_j||^2 per block
    for (size_t t = 0; t < layout.entries.size(); ++t) {
      const ParamEntry& e = layout.entries[t];
      double to_s = 0, s2 = 0, to_u = 0, u2 = 0;
      const size_t block = e.name.rfind("h.", 0) == 0 ? size_t(std::stoi(e.name.substr(2))) : in.blocks.size() - 1;
      for (int64_t i = e.offset; i < e.offset + e.numel; ++i) {
        to_s += std::pow(double(theta[size_t(i)]) - S[size_t(i)], 2);
        s2 += std::pow(double(S[size_t(i)]), 2);
        to_u += std::pow(double(theta[size_t(i)]) - uniform[size_t(i)], 2);
        u2 += std::pow(double(uniform[size_t(i)]), 2);
        for (size_t j = 0; j < n; ++j) expert_sq[j][block] += std::pow(double(E[j * P + size_t(i)]), 2);
      }
      block_s2[block] += s2;
      const ParamDistance& d = in.tensors[t];
      QCOMPARE(QString::fromStdString(d.name), QString::fromStdString(e.name));
      QVERIFY2(std::abs(d.from_shared - std::sqrt(to_s / s2)) < 1e-6 * std::max(1.0, d.from_shared), e.name.c_str());
      QVERIFY2(std::abs(d.from_uniform - std::sqrt(to_u / u2)) < 1e-6 * std::max(1.0, d.from_uniform), e.name.c_str());
      const size_t b = d.layer < 0 ? in.blocks.size() - 1 : size_t(d.layer);
      QCOMPARE(d.layer, e.name.rfind("h.", 0) == 0 ? std::stoi(e.name.substr(2)) : -1);
      block_num[b] += to_u;
      block_den[b] += u2;
    }
    for (size_t b = 0; b < in.blocks.size(); ++b)
      QVERIFY(std::abs(in.blocks[b].from_uniform - std::sqrt(block_num[b] / block_den[b])) < 1e-6);
    QVERIFY(in.blocks.front().from_uniform > 0);  // 0.7/0.2/0.1 is not the uniform specialist
    // Each expert's share per block: |alpha_j| ||E_j|| / ||S|| over the block, from the file's E and S.
    QCOMPARE(in.expert_blocks.size(), n);
    for (size_t j = 0; j < n; ++j) {
      QCOMPARE(in.expert_blocks[j].size(), in.blocks.size());
      for (size_t b = 0; b < in.blocks.size(); ++b) {
        const double direct = std::abs(in.alpha[j]) * std::sqrt(expert_sq[j][b] / block_s2[b]);
        QVERIFY2(std::abs(in.expert_blocks[j][b] - direct) < 1e-6 * std::max(1.0, direct),
                 qPrintable(QString("expert %1 block %2: %3 vs %4").arg(j).arg(b).arg(in.expert_blocks[j][b]).arg(direct)));
      }
    }
    // Inspections share the bank's constants (computed once): a second one is the same.
    const SoupInspection again = bank->inspect(h);
    QCOMPARE(again.alpha, in.alpha);
    QCOMPARE(again.expert_blocks, in.expert_blocks);
    QCOMPARE(again.blocks.front().from_shared, in.blocks.front().from_shared);
    // A path between two specialists: both curves start and end at the two specialists; on the
    // way, h(t)'s specialist is the soup's own, the weights' blend is another model.
    const DomainWeights a = DomainWeights::one_hot(bank->facts().domains, 0), b = DomainWeights::one_hot(bank->facts().domains, 2);
    const auto val = ValidationSet::for_model(bank->facts(), 4);
    const std::vector<PathPoint> path = loss_path(*bank, a, b, 4, *val);
    QCOMPARE(int(path.size()), 5);
    QCOMPARE(path[2].t, 0.5);
    QCOMPARE(path[2].h.values(), (std::vector<double>{0.5, 0, 0.5}));
    const auto ends = std::vector<std::vector<double>>{bank->instantiate(a)->evaluate(*val), bank->instantiate(b)->evaluate(*val)};
    const auto mid = bank->instantiate(path[2].h)->evaluate(*val);
    double blend_gap = 0;
    for (size_t d = 0; d < 3; ++d) {
      QCOMPARE(path.front().along_h[d], ends[0][d]);
      QCOMPARE(path.front().along_weights[d], ends[0][d]);
      QCOMPARE(path.back().along_h[d], ends[1][d]);
      QCOMPARE(path.back().along_weights[d], ends[1][d]);
      QVERIFY(std::abs(path[2].along_h[d] - mid[d]) < 1e-9);
      blend_gap = std::max(blend_gap, std::abs(path[2].along_weights[d] - mid[d]));
    }
    QVERIFY2(blend_gap > 0, "the weights' midpoint is the soup at the mid h: alpha(h) would be linear in h");
    QVERIFY_THROWS_EXCEPTION(Error, loss_path(*bank, a, b, 0, *val));

    // The landscape over the three domains' simplex: (R + 1)(R + 2) / 2 specialists, each point's
    // loss that specialist's on the target mixture; its corners are the one-hot specialists.
    const std::vector<double> target = {0.2, 0.3, 0.5};
    const std::vector<LandscapePoint> grid = loss_landscape(*bank, bank->reference_weights(), {2, 0, 1}, 2, *val, target);
    QCOMPARE(int(grid.size()), 6);
    auto on_target = [&](const DomainWeights& at) {
      const auto l = bank->instantiate(at)->evaluate(*val);
      return target[0] * l[0] + target[1] * l[1] + target[2] * l[2];
    };
    for (const LandscapePoint& p : grid) {
      QVERIFY(std::abs(p.share[0] + p.share[1] + p.share[2] - 1) < 1e-12);
      QVERIFY(std::abs(p.h[2] - p.share[0]) < 1e-12 && std::abs(p.h[0] - p.share[1]) < 1e-12);
      if (p.share[0] == 1) QVERIFY(std::abs(p.loss - on_target(b)) < 1e-9);  // corner 0 is domain 2: b
      if (p.share[1] == 1) QVERIFY(std::abs(p.loss - on_target(a)) < 1e-9);
    }
    QVERIFY(std::abs(grid[4].loss - on_target(grid[4].h)) < 1e-9);
    QVERIFY_THROWS_EXCEPTION(Error, loss_landscape(*bank, bank->reference_weights(), {0, 0, 1}, 2, *val, target));

    // The formula says the same numbers; a dense model has none to say.
    QCOMPARE(QString::fromStdString(soup_formula({0.41, -0.07})), QStringLiteral("theta = S + 0.41 E1 - 0.07 E2"));
    RunConfig dc = tiny_config(m_corpus, m_tmp.filePath("run-inspect-dense"), 2);
    dc.train.kind = ModelKind::kDense;
    auto dense = Trainer::start_new(dc, m_log);
    dense->run({});
    auto dense_model = Model::load(dense->last_checkpoint(), "cpu");
    QVERIFY_THROWS_EXCEPTION(Error, dense_model->inspect(dense_model->reference_weights()));
  }

  // Both one h per step and several (train.h_per_step: the sampler draws h and rows in turn).
  // A preset's time here comes from real steps of its config: a positive throughput, larger for
  // a smaller model.
  void throughputProbeMeasuresRealSteps() {
    RunConfig small = tiny_config(m_corpus, m_tmp.filePath("probe-unused"), 10);
    small.train.threads = 1;
    RunConfig bigger = small;
    bigger.model.n_embd *= 2;
    bigger.model.n_layer += 1;
    const double a = probe_training_throughput(small, 3, 1.0), b = probe_training_throughput(bigger, 3, 1.0);
    qInfo("probe: %.0f tokens/s small, %.0f bigger", a, b);
    QVERIFY(a > 0 && b > 0);
    QVERIFY(a > b);
    QVERIFY(!std::filesystem::exists(m_tmp.filePath("probe-unused").toStdString()));  // its own scratch folder
  }

  void resumeContinuesExactly_data() {
    QTest::addColumn<int>("hPerStep");
    QTest::addColumn<double>("expertRateStart");  // 0: the experts' rate is constant
    QTest::newRow("one h per step") << 1 << 0.0;
    QTest::newRow("four h per step") << 4 << 0.0;
    QTest::newRow("one h per sequence") << 0 << 0.0;
    QTest::newRow("experts' rate warming up") << 4 << 0.0625;
  }
  void resumeContinuesExactly() {
    QFETCH(int, hPerStep);
    QFETCH(double, expertRateStart);
    const QString tag = QString("%1-%2").arg(hPerStep).arg(expertRateStart);
    // Uninterrupted: 30 steps.
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-straight-" + tag), 30);
    c.train.h_per_step = hPerStep;
    c.bank.expert_lr_scale_start = expertRateStart;
    auto straight = Trainer::start_new(c, m_log);
    straight->run({});
    // Interrupted at step 13 (off the checkpoint grid), then resumed in a new trainer.
    RunConfig c2 = tiny_config(m_corpus, m_tmp.filePath("run-resumed-" + tag), 30);
    c2.train.h_per_step = hPerStep;
    c2.bank.expert_lr_scale_start = expertRateStart;
    auto first = Trainer::start_new(c2, m_log);
    TrainCallbacks stop_at_13;
    stop_at_13.should_stop = [&] { return first->step() == 13; };
    QCOMPARE(int(first->run(stop_at_13)), int(TrainOutcome::kStopped));
    const std::string mid = first->last_checkpoint();
    QVERIFY(QString::fromStdString(mid).endsWith("step_00000013.ckpt"));
    const int64_t run_id = first->run_id();
    first.reset();
    auto resumed = Trainer::resume(mid, m_log);
    QCOMPARE(resumed->run_id(), run_id);
    QCOMPARE(resumed->step(), int64_t(13));
    QCOMPARE(int(resumed->run({})), int(TrainOutcome::kFinished));

    const auto a = tensors_of(straight->last_checkpoint());
    const auto b = tensors_of(resumed->last_checkpoint());
    QCOMPARE(a.size(), b.size());
    for (const auto& [name, values] : a) {
      QVERIFY2(b.count(name), name.c_str());
      QVERIFY2(values == b.at(name), qPrintable(QString("tensor %1 differs").arg(name.c_str())));
    }
    // Same run in the log, no duplicated metric rows for the steps done twice.
    RunLog log(m_log);
    const auto details = log.get_run(run_id);
    QCOMPARE(QString::fromStdString(details.status), QString("finished"));
    const auto losses = log.metrics(run_id, std::string("loss"));
    std::set<int64_t> steps;
    for (const auto& m : losses)
      if (m.split == "train") QVERIFY2(steps.insert(m.step).second, "duplicate train loss row");
    QCOMPARE(int(steps.size()), 6);  // 5, 10, ..., 30 (13 is not a logging step)
  }

  // --precision bf16 is bf16 autocast on CUDA; on the CPU the run says so and trains exactly as
  // fp32 (same parameters bit for bit), and the checkpoint records the setting. A bad value is
  // refused with the key's name.
  void bf16OnTheCpuTrainsAsFp32AndSaysSo() {
    RunConfig fp32 = tiny_config(m_corpus, m_tmp.filePath("run-fp32"), 10);
    RunConfig bf16 = tiny_config(m_corpus, m_tmp.filePath("run-bf16"), 10);
    bf16.train.precision = "bf16";
    auto a = Trainer::start_new(fp32, m_log);
    a->run({});
    std::vector<std::string> messages;
    TrainCallbacks cb;
    cb.on_message = [&](const std::string& m) { messages.push_back(m); };
    auto b = Trainer::start_new(bf16, m_log, cb);
    b->run(cb);
    QVERIFY(std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
      return m.find("precision bf16") != std::string::npos && m.find("fp32") != std::string::npos;
    }));
    const auto ta = tensors_of(a->last_checkpoint()), tb = tensors_of(b->last_checkpoint());
    QCOMPARE(ta.size(), tb.size());
    for (const auto& [name, values] : ta) QVERIFY2(values == tb.at(name), name.c_str());
    auto resumed = Trainer::resume(b->last_checkpoint(), m_log);
    QCOMPARE(QString::fromStdString(resumed->config().train.precision), QStringLiteral("bf16"));
    RunConfig bad = fp32;
    bad.train.precision = "fp8";
    try {
      validate(bad);
      QFAIL("precision fp8 was accepted");
    } catch (const std::exception& e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains("precision"), e.what());
    }
  }

  void learningRateScalesApplyPerGroup() {
    // AdamW: the same gradient moves a tensor with scale 0.25 exactly a quarter as far as one
    // with scale 1, and not at all with scale 0.
    std::vector<torch::Tensor> p;
    for (int i = 0; i < 3; ++i) p.push_back(torch::ones({5}));
    const auto grad = torch::tensor({0.5f, -1.0f, 2.0f, -0.25f, 1.0f});
    AdamW opt(p, {torch::Tensor(), torch::Tensor(), torch::Tensor()}, {}, {1.0, 0.25, 0.0});
    for (auto& t : p) t.mutable_grad() = grad.clone();
    opt.step(1e-2);
    const auto moved_full = p[0] - 1, moved_quarter = p[1] - 1;
    QVERIFY(moved_full.abs().min().item<float>() > 5e-3);
    QVERIFY(torch::allclose(moved_quarter, moved_full * 0.25, 0, 1e-6));  // float rounding of 1 - x
    QVERIFY(torch::equal(p[2], torch::ones({5})));

    // The soup maps its scales onto the right tensors: with the experts' and the coefficient
    // MLP's scales at 0, ten steps leave E and coef.* at their initial values and move S.
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-frozen"), 10);
    c.bank.expert_lr_scale = 0;
    c.bank.coef_lr_scale = 0;
    auto trainer = Trainer::start_new(c, m_log);
    QCOMPARE(int(trainer->run({})), int(TrainOutcome::kFinished));
    const auto after = tensors_of(trainer->last_checkpoint());
    auto initial = make_model(c, 3, torch::kCPU);
    initial->init(c.train.seed);
    for (const auto& [name, t] : initial->named_parameters()) {
      QVERIFY2(after.count(name), name.c_str());
      const auto* v = t.contiguous().data_ptr<float>();
      const bool same = std::vector<float>(v, v + t.numel()) == after.at(name);
      QVERIFY2(same == (name != "S"), qPrintable(QString("%1 %2").arg(name.c_str()).arg(same ? "unchanged" : "moved")));
    }
  }

  // bank.expert_lr_scale_start: the experts' scale rises geometrically from it to
  // expert_lr_scale over the run, and the trainer hands the optimiser each step's scale.
  void expertRateWarmsUpOverTheRun() {
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-rate-const"), 8);
    c.bank.expert_lr_scale = 0.5;
    auto bank = make_model(c, 3, torch::kCPU);
    QCOMPARE(bank->lr_scales(0.3)[1], 0.5);  // constant without a start
    c.bank.expert_lr_scale_start = 0.0625;
    bank = make_model(c, 3, torch::kCPU);
    QVERIFY(std::abs(bank->lr_scales(0)[1] - 0.0625) < 1e-12);
    QVERIFY(std::abs(bank->lr_scales(0.5)[1] - std::sqrt(0.0625 * 0.5)) < 1e-12);
    QVERIFY(std::abs(bank->lr_scales(1)[1] - 0.5) < 1e-12);
    QCOMPARE(bank->lr_scales(0.5)[0], 1.0);  // S
    QCOMPARE(bank->lr_scales(0.5)[2], c.bank.coef_lr_scale);

    // A start equal to the end trains exactly as the constant rate; a lower start moves E less
    // than the constant end rate and more than the constant start rate (so each step's scale,
    // not only the first, reaches the optimiser).
    const auto experts_after = [&](double start, double end, const QString& dir) {
      RunConfig r = tiny_config(m_corpus, m_tmp.filePath(dir), 8);
      r.bank.expert_lr_scale = end;
      r.bank.expert_lr_scale_start = start;
      auto t = Trainer::start_new(r, m_log);
      t->run({});
      return tensors_of(t->last_checkpoint()).at("E");
    };
    const auto constant = experts_after(0, 0.5, "run-rate-a"), same = experts_after(0.5, 0.5, "run-rate-b"),
               warming = experts_after(0.0625, 0.5, "run-rate-c"), slow = experts_after(0, 0.0625, "run-rate-d");
    QVERIFY(constant == same);
    auto initial = make_model(c, 3, torch::kCPU);
    initial->init(c.train.seed);
    torch::Tensor e0;
    for (const auto& [name, t] : initial->named_parameters())
      if (name == "E") e0 = t.flatten();
    const auto moved = [&](const std::vector<float>& v) {
      return (torch::tensor(v) - e0).abs().sum().item<double>();
    };
    QVERIFY(moved(warming) < 0.5 * moved(constant));
    QVERIFY(moved(warming) > 1.5 * moved(slow));
  }

  void runLogHoldsRunsMetricsAndDomains() {
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-logged"), 20);
    c.train.kind = ModelKind::kDense;
    c.train.run_name = "dense baseline";
    auto t = Trainer::start_new(c, m_log);
    t->run({});
    RunLog log(m_log);
    const auto r = log.get_run(t->run_id());
    QCOMPARE(QString::fromStdString(r.name), QString("dense baseline"));
    QCOMPARE(QString::fromStdString(r.kind), QString("dense"));
    QCOMPARE(r.last_step, int64_t(20));
    QCOMPARE(r.checkpoint_path, t->last_checkpoint());
    QVERIFY(r.best_val_loss.has_value());
    QCOMPARE(int(log.domains(t->run_id()).size()), 3);
    int val_rows = 0;
    for (const auto& m : log.metrics(t->run_id()))
      if (m.split == "val") ++val_rows;
    QCOMPARE(val_rows, 3 * 3);  // 3 domains at steps 0, 10, 20
    // Keep the last K = 2 checkpoints only.
    int ckpts = 0;
    for (const auto& e : std::filesystem::directory_iterator(t->run_dir()))
      if (e.path().extension() == ".ckpt") ++ckpts;
    QCOMPARE(ckpts, 2);
  }

  void checkpointRoundTripAndBadCheckpoints() {
    RunConfig c = tiny_config(m_corpus, m_tmp.filePath("run-ckpt"), 10);
    auto t = Trainer::start_new(c, m_log);
    t->run({});
    const std::string path = t->last_checkpoint();
    LoadedCheckpoint ck = load_checkpoint(path, torch::kCPU, true);
    QCOMPARE(ck.state.step, int64_t(10));
    QCOMPARE(ck.state.run_id, t->run_id());
    QCOMPARE(QString::fromStdString(to_json(ck.state.config)), QString::fromStdString(to_json(t->config())));
    QCOMPARE(ck.optimizer_step, int64_t(10));
    // Saving what was loaded gives back the same tensors.
    AdamW opt([&] {
      std::vector<torch::Tensor> p;
      for (auto& [n, x] : ck.bank->named_parameters()) p.push_back(x);
      return p;
    }(), ck.bank->decay_masks(), {});
    for (size_t i = 0; i < ck.exp_avg.size(); ++i) {
      opt.exp_avg()[i].copy_(ck.exp_avg[i]);
      opt.exp_avg_sq()[i].copy_(ck.exp_avg_sq[i]);
    }
    opt.set_step_count(ck.optimizer_step);
    const std::string copy = m_tmp.filePath("copy.ckpt").toStdString();
    save_checkpoint(copy, *ck.bank, &opt, ck.state);
    QVERIFY(tensors_of(copy) == tensors_of(path));

    auto expect_error = [&](const std::string& file, const QString& fragment) {
      try {
        load_checkpoint(file, torch::kCPU, true);
        QFAIL(qPrintable("no error for " + fragment));
      } catch (const Error& e) {
        const QString msg = e.what();
        QVERIFY2(msg.contains(QString::fromStdString(file)), qPrintable(msg));
        QVERIFY2(msg.contains(fragment, Qt::CaseInsensitive), qPrintable(msg));
      }
    };
    // Truncated.
    const std::string truncated = m_tmp.filePath("truncated.ckpt").toStdString();
    std::filesystem::copy_file(path, truncated);
    std::filesystem::resize_file(truncated, std::filesystem::file_size(path) / 2);
    expect_error(truncated, "");
    // Garbage.
    const std::string garbage = m_tmp.filePath("garbage.ckpt").toStdString();
    std::ofstream(garbage) << "this is not a checkpoint at all";
    expect_error(garbage, "");
    // A safetensors file that is not a checkpoint.
    const std::string plain = m_tmp.filePath("plain.safetensors").toStdString();
    float x = 1;
    write_safetensors(plain, {{"x", DType::kF32, {1}, &x}});
    expect_error(plain, "not a SoupLab checkpoint");
    // A newer format version.
    SafetensorsFile f = read_safetensors(path);
    auto meta = f.metadata();
    meta["format_version"] = "99";
    std::vector<TensorView> views;
    for (const auto& e : f.tensors()) views.push_back({e.name, e.dtype, e.shape, f.data(e)});
    const std::string newer = m_tmp.filePath("newer.ckpt").toStdString();
    write_safetensors(newer, views, meta);
    expect_error(newer, "newer SoupLab");
    // A config that does not match the tensors.
    meta = f.metadata();
    RunConfig other = ck.state.config;
    other.model.n_embd = 64;
    meta["config"] = to_json(other);
    const std::string mismatched = m_tmp.filePath("mismatched.ckpt").toStdString();
    write_safetensors(mismatched, views, meta);
    expect_error(mismatched, "config");
    // A checkpoint from before the soup's per-group learning rates resumes at the rates it was
    // trained with (1), not at today's defaults.
    auto legacy_config = nlohmann::json::parse(f.metadata().at("config"));
    legacy_config["bank"].erase("expert_lr_scale");
    legacy_config["bank"].erase("coef_lr_scale");
    legacy_config["train"].erase("h_per_step");
    meta = f.metadata();
    meta["config"] = legacy_config.dump();
    const std::string legacy = m_tmp.filePath("legacy.ckpt").toStdString();
    write_safetensors(legacy, views, meta);
    const auto legacy_bank = load_checkpoint(legacy, torch::kCPU, false).state.config.bank;
    QCOMPARE(legacy_bank.expert_lr_scale, 1.0);
    QCOMPARE(legacy_bank.coef_lr_scale, 1.0);
    QCOMPARE(load_checkpoint(legacy, torch::kCPU, false).state.config.train.h_per_step, 1);  // one h per step then
    QCOMPARE(ck.state.config.bank.expert_lr_scale, BankConfig{}.expert_lr_scale);
    // A missing file through the public API.
    QVERIFY_THROWS_EXCEPTION(Error, Model::load(m_tmp.filePath("nope.ckpt").toStdString(), "cpu"));
  }

  void newRunRefusesAFolderWithCheckpoints() {
    // Pruning to the last K checkpoints would otherwise delete the earlier run's files.
    const QString dir = m_tmp.filePath("run-taken");
    auto first = Trainer::start_new(tiny_config(m_corpus, dir, 10), m_log);
    first->run({});
    const auto before = tensors_of(first->last_checkpoint());
    try {
      Trainer::start_new(tiny_config(m_corpus, dir, 10), m_log);
      QFAIL("a second run started in a folder holding checkpoints");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains(dir) && QString(e.what()).contains("checkpoints"), e.what());
    }
    QVERIFY(tensors_of(first->last_checkpoint()) == before);
    // Resuming that run in its own folder is still fine.
    auto resumed = Trainer::resume(first->last_checkpoint(), m_log);
    QCOMPARE(resumed->step(), int64_t(10));
  }

  void badCorpusIsAClearError() {
    QTemporaryDir one;
    test_util::write_text(one.filePath("only/data.txt"), std::string(5000, 'a'));
    RunConfig c = tiny_config(one.path(), m_tmp.filePath("run-bad"), 5);
    try {
      Trainer::start_new(c, m_log);
      QFAIL("a corpus with one domain was accepted");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains(one.path()), e.what());
    }
    RunConfig missing = tiny_config(m_tmp.filePath("does-not-exist"), m_tmp.filePath("run-bad2"), 5);
    QVERIFY_THROWS_EXCEPTION(Error, Trainer::start_new(missing, m_log));
  }
};

QTEST_APPLESS_MAIN(TestTraining)
#include "test_training.moc"
