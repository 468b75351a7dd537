// Config files: defaults survive a round trip, unknown keys and wrong types are errors that name
// the file and the key, inconsistent sizes are refused.
#include <QtTest>
#include <cmath>

#include "souplab/config.h"
#include "souplab/error.h"
#include "souplab/distributed.h"
#include "souplab/presets.h"
#include <thread>

using namespace souplab;

class TestConfig : public QObject {
  Q_OBJECT

  static QString error_of(const std::string& json) {
    try {
      validate(parse_run_config(json, "my.json"));
    } catch (const Error& e) {
      return e.what();
    }
    return {};
  }

 private Q_SLOTS:
  void roundTripKeepsEveryField() {
    RunConfig c;
    c.model.n_layer = 3;
    c.bank.n_experts = 5;
    c.train.lr = 1.5e-3;
    c.train.mixture = {0.25, 0.75};
    c.train.run_name = "a \"quoted\" name";
    const RunConfig back = parse_run_config(to_json(c), "x");
    QCOMPARE(to_json(back), to_json(c));
    QCOMPARE(back.model.n_layer, 3);
    QCOMPARE(back.bank.n_experts, 5);
    QCOMPARE(back.train.mixture, (std::vector<double>{0.25, 0.75}));
  }

  void missingKeysKeepDefaults() {
    const RunConfig c = parse_run_config(R"({"train": {"steps": 7}})", "x");
    QCOMPARE(c.train.steps, int64_t(7));
    QCOMPARE(c.model.n_embd, ModelConfig{}.n_embd);
  }

  void badInputNamesFileAndKey() {
    QString e = error_of(R"({"train": {"stepz": 7}})");
    QVERIFY2(e.contains("my.json") && e.contains("stepz"), qPrintable(e));
    e = error_of(R"({"train": {"steps": "many"}})");
    QVERIFY2(e.contains("my.json") && e.contains("steps"), qPrintable(e));
    e = error_of(R"({"train": {"steps": 1.5}})");
    QVERIFY2(e.contains("integer"), qPrintable(e));
    e = error_of(R"({"modle": {}})");
    QVERIFY2(e.contains("modle"), qPrintable(e));
    e = error_of("{not json");
    QVERIFY2(e.contains("my.json") && e.contains("JSON"), qPrintable(e));
    e = error_of("[1, 2]");
    QVERIFY2(e.contains("object"), qPrintable(e));
    e = error_of(R"({"model": {"n_embd": 30, "n_head": 4}})");
    QVERIFY2(e.contains("divisible"), qPrintable(e));
    e = error_of(R"({"train": {"kind": "sparse"}})");  // "moe" is a kind since issue 8
    QVERIFY2(e.contains("kind"), qPrintable(e));
    e = error_of(R"({"train": {"meta_distribution": "beta"}})");
    QVERIFY2(e.contains("meta_distribution"), qPrintable(e));
    e = error_of(R"({"model": {"vocab_size": 512}})");
    QVERIFY2(e.contains("vocab_size"), qPrintable(e));
    e = error_of(R"({"train": {"h_per_step": -1}})");
    QVERIFY2(e.contains("h_per_step"), qPrintable(e));
    // h per step, at most: the largest number of equal groups of the batch up to it; 0 = one h
    // per sequence. Every batch size works with the default.
    QVERIFY(error_of(R"({"train": {"batch_size": 6, "h_per_step": 0}})").isEmpty());
    QVERIFY(error_of(R"({"train": {"batch_size": 1}})").isEmpty());
    const auto groups = [](int batch, int h_per_step) {
      TrainConfig t;
      t.batch_size = batch;
      t.h_per_step = h_per_step;
      return h_groups_per_step(t);
    };
    QCOMPARE(groups(16, TrainConfig{}.h_per_step), 4);  // the default: 4 groups of 4
    QCOMPARE(groups(6, 0), 6);
    QCOMPARE(groups(6, 4), 3);
    QCOMPARE(groups(16, 3), 2);
    QCOMPARE(groups(2, 4), 2);
    QCOMPARE(groups(1, 4), 1);
    QCOMPARE(groups(7, 4), 1);
    QCOMPARE(groups(16, 1), 1);
    // The sparse Dirichlet's support: set, or (0, the default) by the number of domains.
    TrainConfig t;
    QCOMPARE(t.support_max, 0);
    QCOMPARE(support_max_for(t, 14), 4);  // the 14 labelled domains: 4, as before the rule
    QCOMPARE(support_max_for(t, 3), 4);   // capped at k by the sampler
    QCOMPARE(support_max_for(t, 64), 12);  // 64 clusters
    t.support_max = 7;
    QCOMPARE(support_max_for(t, 64), 7);
    e = error_of(R"({"train": {"support_max": -1}})");
    QVERIFY2(e.contains("support_max"), qPrintable(e));
    e = error_of(R"({"train": {"dense_mixture": "random"}})");
    QVERIFY2(e.contains("dense_mixture"), qPrintable(e));
    QVERIFY(error_of(R"({"train": {"batch_size": 16, "h_per_step": 8}})").isEmpty());
    QVERIFY(error_of(R"({"train": {"steps": 10}})").isEmpty());
  }

  // Presets (souplab/presets.h): each is a valid config of its size; what it costs adds up; the
  // GPU presets fit one 80 GB GPU by the same memory estimate that refuses runs.
  void presetsAreValidAndTheirCostsAddUp() {
    QVERIFY(presets().size() >= 4);
    QCOMPARE(QString::fromStdString(presets().front().name), QString("quick"));
    for (const Preset& p : presets()) {
      RunConfig c;
      apply_preset(p, c);
      validate(c);
      QCOMPARE(c.model.n_layer, p.n_layer);
      QCOMPARE(c.train.steps, p.steps);
      QCOMPARE(QString::fromStdString(c.train.device), QString::fromStdString(p.device));
      const RunEstimate e = estimate_run(c, 14, 1000.0, true, "test");
      QCOMPARE(e.tokens, p.steps * p.batch_size * p.block_size);
      QVERIFY(std::abs(e.seconds - double(e.tokens) / 1000.0) < 1e-6);
      QVERIFY(std::abs(e.tokens_per_param * double(e.specialist_params) - double(e.tokens)) < 1.0);
      QVERIFY(e.trained_params > e.specialist_params);  // a soup: S, experts and the coefficient network
      const QString line = QString::fromStdString(describe_estimate(e));
      QVERIFY2(line.contains("measured here") && line.contains("tokens"), qPrintable(line));
      if (p.device == "cuda") {
        QVERIFY2(e.memory_bytes < 80ull * 1000 * 1000 * 1000, qPrintable(p.name.c_str() + QString(": ") + line));
        const double tps = roofline_gpu_tokens_per_second(c, 14);
        // Sized to its hours at the roofline, within a factor 1.5.
        const double hours = double(e.tokens) / tps / 3600.0;
        QVERIFY2(hours > p.hours / 1.5 && hours < p.hours * 1.5, qPrintable(QString::number(hours)));
      }
    }
    RunConfig dense;
    dense.bank.n_experts = 0;
    apply_preset(find_preset("cpu-night"), dense);
    QCOMPARE(dense.bank.n_experts, 0);  // a dense baseline of a preset stays dense
    try {
      find_preset("nope");
      QFAIL("an unknown preset was found");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("quick") && QString(e.what()).contains("gpu-8h"), e.what());
    }
    // The roofline's time grows with the model and falls with bf16.
    RunConfig a = RunConfig{}, b = RunConfig{};
    apply_preset(find_preset("gpu-30min"), a);
    apply_preset(find_preset("gpu-8h"), b);
    QVERIFY(roofline_gpu_tokens_per_second(a, 14) > roofline_gpu_tokens_per_second(b, 14));
    RunConfig a32 = a;
    a32.train.precision = "fp32";
    QVERIFY(roofline_gpu_tokens_per_second(a, 14) > roofline_gpu_tokens_per_second(a32, 14));
  }

  // The one rule for a local job's ranks (CLI processes and GUI threads alike).
  void localJobPlanSplitsTheCores() {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const LocalJobPlan two = plan_local_job(2, 0);
    QCOMPARE(two.ranks, 2);
    QCOMPARE(two.threads_per_rank, std::max(1, cores / 2));
    QVERIFY(two.master_port > 0 && two.master_port < 65536);
    QCOMPARE(plan_local_job(2, 3).threads_per_rank, 3);          // the user's choice stands
    QCOMPARE(plan_local_job(4 * cores, 0).threads_per_rank, 1);  // never 0
    QVERIFY_THROWS_EXCEPTION(Error, plan_local_job(0, 0));
  }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "test_config.moc"
