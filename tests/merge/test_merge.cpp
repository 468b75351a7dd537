// The engine's merge path on real files: exported specialists and a tiny soup bank trained here
// go in; the merged model comes out as a specialist folder that Model::load reads back with
// identical parameters, with a model card naming the method and inputs and a run log row.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <sstream>

#include "souplab/error.h"
#include "souplab/run_log.h"
#include "souplab/inspect.h"
#include "souplab/merge.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "engine/export/specialist_export.h"
#include "souplab/trainer.h"
#include "nn/tiny_corpus.h"

using namespace souplab;

namespace {

ModelConfig tiny_model(int width = 32) {
  ModelConfig c;
  c.n_layer = 1;
  c.n_embd = width;
  c.n_head = 2;
  c.block_size = 32;
  return c;
}

// An exported specialist with deterministic, distinct parameters.
std::string write_export(const QString& dir, const ModelConfig& c, float phase) {
  const ParamLayout l = gpt_param_layout(c);
  std::vector<float> theta(size_t(l.total));
  for (size_t j = 0; j < theta.size(); ++j) theta[j] = 0.05f * float(std::sin(phase + 0.013 * double(j)));
  SpecialistCard card;
  card.run_kind = ModelKind::kDense;
  export_specialist(c, l, theta.data(), card, dir.toStdString(), ExportFormat::kSafetensors);
  return dir.toStdString();
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

class TestMerge : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  std::string m_log;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    test_util::isolate_in(m_tmp);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
  }

  void mergedFolderRoundTripsThroughBankLoad() {
    const auto a = load_merge_model(write_export(m_tmp.filePath("a"), tiny_model(), 0.f));
    const auto b = load_merge_model(write_export(m_tmp.filePath("b"), tiny_model(), 1.f));
    const auto base = load_merge_model(write_export(m_tmp.filePath("base"), tiny_model(), 2.f));
    MergeParams p;
    p.method = MergeMethod::kTies;
    p.density = 0.4;
    p.lambda = 0.7;
    const auto m = merge_models({&a, &b}, {1.0, 0.5}, &base, p);
    QCOMPARE(int(m->kind()), int(ModelKind::kMerged));
    QVERIFY(m->capabilities().can_export && !m->capabilities().can_instantiate);
    QCOMPARE(int64_t(m->theta().size()), gpt_param_layout(tiny_model()).total);
    QVERIFY(m->theta() != base.theta && m->theta() != a.theta);
    QCOMPARE(m->instantiate_dense({})->parameters(), m->theta());

    ModelExportOptions o;
    o.format = ExportFormat::kSafetensors;
    o.run_log_path = m_log;
    const std::string out = m_tmp.filePath("merged").toStdString();
    const ModelExportResult r = m->export_specialist({}, out, o);
    auto reread = Model::load(out, "cpu");
    QCOMPARE(reread->instantiate_dense({})->parameters(), m->theta());  // bit-identical
    // What the merge is made of (issue 32), in memory and read back from the folder alike.
    for (const Model* made : {static_cast<const Model*>(m.get()), reread.get()}) {
      const MixingRole role = made->mixing_role({}, nullptr);
      QCOMPARE(QString::fromStdString(role.role), QString("merge weights"));
      QCOMPARE(role.columns, (std::vector<std::string>{a.path, b.path}));
      QCOMPARE(role.values, (std::vector<std::vector<double>>{{1.0, 0.5}}));
      QVERIFY2(role.formula.find("0.70 * ties(1.00 M1 + 0.50 M2") != std::string::npos, role.formula.c_str());
    }
    // A plain exported specialist mixes nothing, and says so.
    QVERIFY_THROWS_EXCEPTION(Error, Model::load(a.path, "cpu")->mixing_role({}, nullptr));
    const std::string card = read_all(out + "/README.md");
    QVERIFY(card.find("merged from other models") != std::string::npos);
    QVERIFY(card.find("`ties`, density 0.4, lambda 0.7") != std::string::npos);
    QVERIFY(card.find(a.path) != std::string::npos && card.find(base.path) != std::string::npos);

    RunLog log(m_log);
    const RunDetails run = log.get_run(r.run_id);
    QCOMPARE(run.kind, std::string("merge"));
    QCOMPARE(run.status, std::string("finished"));
    QVERIFY(run.config_json.find("\"ties\"") != std::string::npos);
    const auto exports = log.exports(r.run_id);
    QCOMPARE(exports.size(), size_t(1));
    QCOMPARE(exports[0].path, r.dir);
    // A second export to the same folder is refused, leaves the first in place and logs no run.
    const size_t runs = log.list_runs().size();
    QVERIFY_THROWS_EXCEPTION(Error, m->export_specialist({}, out, o));
    QCOMPARE(Model::load(out, "cpu")->instantiate_dense({})->parameters(), m->theta());
    QCOMPARE(log.list_runs().size(), runs);
  }

  void mismatchedConfigNamesTheFile() {
    const auto a = load_merge_model(write_export(m_tmp.filePath("c32"), tiny_model(32), 0.f));
    const auto wide = load_merge_model(write_export(m_tmp.filePath("c48"), tiny_model(48), 0.f));
    MergeParams p;
    try {
      merge_models({&a, &wide}, {1, 1}, nullptr, p);
      QFAIL("a width mismatch merged");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find(wide.path) != std::string::npos, e.what());
      QVERIFY2(std::string(e.what()).find("width 48") != std::string::npos, e.what());
    }
    p.method = MergeMethod::kTies;
    try {
      merge_models({&a}, {1}, nullptr, p);
      QFAIL("ties merged without a base");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("needs a base") != std::string::npos, e.what());
    }
    QVERIFY_THROWS_EXCEPTION(Error, load_merge_model(m_tmp.filePath("missing").toStdString()));
  }

  void soupSpecialistsMergeAndEvaluate() {
    const QString corpus = m_tmp.filePath("corpus");
    const auto names = test_util::make_corpus(corpus, 2, 30000);
    RunConfig c;
    c.model = tiny_model();
    c.bank.n_experts = 2;
    c.bank.coef_hidden = 16;
    c.train.corpus_dir = corpus.toStdString();
    c.train.out_dir = m_tmp.filePath("run").toStdString();
    c.train.device = "cpu";
    c.train.steps = 20;
    c.train.batch_size = 8;
    c.train.lr = 3e-3;
    c.train.warmup_steps = 2;
    c.train.log_interval = 10;
    c.train.eval_interval = 20;
    c.train.eval_windows = 2;
    c.train.checkpoint_interval = 20;
    auto trainer = Trainer::start_new(c, m_log);
    trainer->run({});
    const std::string ckpt = trainer->last_checkpoint();

    const auto base = load_merge_model(ckpt);  // uniform h
    const auto s0 = load_merge_model(ckpt, "onehot:" + names[0]);
    const auto s1 = load_merge_model(ckpt, "onehot:" + names[1]);
    QVERIFY(s0.label.find("@") != std::string::npos);
    QVERIFY(s0.theta != s1.theta);
    const auto bank = Model::load(ckpt, "cpu");
    QCOMPARE(s0.theta, bank->instantiate_dense(bank->weights({1.0, 0.0}))->parameters());

    auto val = merge_validation_set({&base, &s0}, 4);
    QCOMPARE(val->domains(), names);
    MergeParams ta;
    ta.method = MergeMethod::kTaskArithmetic;
    ta.lambda = 0;
    const auto same = merge_models({&s0, &s1}, {1, 1}, &base, ta);
    QCOMPARE(same->theta(), base.theta);  // lambda 0 is the base, exactly
    const auto base_loss = same->instantiate({})->evaluate(*val);
    QCOMPARE(base_loss, bank->instantiate(bank->weights({0.5, 0.5}))->evaluate(*val));

    MergeParams dare;
    dare.method = MergeMethod::kDare;
    dare.density = 0.9;
    dare.seed = 1;
    const auto merged = merge_models({&s0, &s1}, {0.5, 0.5}, &base, dare);
    const auto loss = merged->instantiate({})->evaluate(*val);
    QCOMPARE(loss.size(), names.size());
    for (double v : loss) QVERIFY(std::isfinite(v) && v > 0 && v < 8);
  }
};

QTEST_GUILESS_MAIN(TestMerge)
#include "test_merge.moc"
