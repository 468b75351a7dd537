// Fine-tuning and starting from a dense model (issue: specialists that beat a dense model): a
// specialist fine-tuned on a target text gets better on the target's held-out end, exports to a
// folder that reopens as exactly the tuned parameters, and is logged as a child run; bad targets
// and folders are clear errors. train.init_from starts S as the given dense model.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/finetune.h"
#include "souplab/model.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "souplab/trainer.h"
#include "engine/core/safetensors.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

using namespace souplab;

class TestFinetune : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  std::string m_log, m_soup, m_dense, m_target;
  int64_t m_soup_run = 0;

  std::string train(RunConfig c) {
    TrainCallbacks cb;
    auto trainer = Trainer::start_new(c, m_log, cb);
    if (trainer->run(cb) != TrainOutcome::kFinished) qFatal("tiny training did not finish");
    if (c.train.kind == ModelKind::kSoup) m_soup_run = trainer->run_id();
    return trainer->last_checkpoint();
  }

  template <typename F>
  static QString error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return QString::fromStdString(e.what());
    }
    return {};
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    test_util::isolate_in(m_tmp);
    const QString corpus = m_tmp.filePath("corpus");
    test_util::make_corpus(corpus, 3, 40000);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
    RunConfig dense = test_util::tiny_run_config(corpus, m_tmp.filePath("dense"), 40);
    dense.train.kind = ModelKind::kDense;
    dense.bank.n_experts = 0;
    m_dense = train(dense);
    m_soup = train(test_util::tiny_run_config(corpus, m_tmp.filePath("soup"), 40));
    // A target unlike every domain: the fine-tune has something to learn.
    m_target = m_tmp.filePath("target.txt").toStdString();
    test_util::write_text(QString::fromStdString(m_target), test_util::synthetic_domain(3, 30000, 99));
  }

  void fineTunedSpecialistImprovesExportsAndIsLogged() {
    auto model = Model::load(m_soup, "cpu");
    const DomainWeights h = DomainWeights::one_hot(model->facts().domains, 1);
    FinetuneOptions o;
    o.steps = 40;
    o.lr = 3e-3;
    o.device = "cpu";
    int progress_calls = 0;
    o.progress = [&](int64_t, int64_t, double loss) {
      ++progress_calls;
      return std::isfinite(loss);
    };
    ModelExportOptions eo;
    eo.format = ExportFormat::kSafetensors;
    eo.run_log_path = m_log;
    const std::string out = m_tmp.filePath("tuned").toStdString();
    std::vector<std::string> notes;
    const auto r = finetune_and_export(*model, h, m_target, o, out, eo, &notes);
    QCOMPARE(int(r.tuned.steps), 40);
    QCOMPARE(progress_calls, 40);
    QVERIFY(notes.empty());
    QVERIFY2(r.tuned.loss_after < r.tuned.loss_before - 0.2,
             qPrintable(QString("held-out target loss %1 -> %2").arg(r.tuned.loss_before).arg(r.tuned.loss_after)));
    // Before fine-tuning it is the specialist at h itself.
    const auto start = model->instantiate_dense(h)->parameters();
    QCOMPARE(start.size(), r.tuned.theta.size());
    // The export reopens as exactly the tuned parameters.
    const auto reopened = Model::load(out, "cpu")->instantiate_dense({})->parameters();
    QCOMPARE(reopened.size(), r.tuned.theta.size());
    double max_diff = 0, moved = 0;
    for (size_t i = 0; i < reopened.size(); ++i) {
      max_diff = std::max(max_diff, double(std::abs(reopened[i] - r.tuned.theta[i])));
      moved = std::max(moved, double(std::abs(start[i] - r.tuned.theta[i])));
    }
    QCOMPARE(max_diff, 0.0);
    QVERIFY(moved > 1e-4);
    // A run of its own in the log, child of the soup's run, with the losses.
    RunLog log(m_log);
    const RunDetails run = log.get_run(r.run_id);
    QCOMPARE(QString::fromStdString(run.kind), QString("finetune"));
    QVERIFY(run.parent_run_id.has_value());
    QCOMPARE(*run.parent_run_id, m_soup_run);
    const auto after = log.metrics(r.run_id, std::string("loss"));
    QCOMPARE(int(after.size()), 1);
    QCOMPARE(after[0].value, r.tuned.loss_after);
    // Its folder is recorded as its export (the one export path: engine/export/logged_export.h).
    QCOMPARE(QString::fromStdString(run.status), QString("finished"));
    const auto exports = log.exports(r.run_id);
    QCOMPARE(exports.size(), size_t(1));
    QCOMPARE(exports[0].path, r.exported.dir);
  }

  void badTargetsAndFoldersAreClearErrors() {
    auto model = Model::load(m_dense, "cpu");
    FinetuneOptions o;
    o.steps = 2;
    o.device = "cpu";
    ModelExportOptions eo;
    eo.run_log_path = m_log;
    const std::string out = m_tmp.filePath("never").toStdString();
    const std::string missing = m_tmp.filePath("no-such.txt").toStdString();
    QString e = error_of([&] { finetune_and_export(*model, {}, missing, o, out, eo); });
    QVERIFY2(e.contains(QString::fromStdString(missing)), qPrintable(e));
    const QString shortFile = m_tmp.filePath("short.txt");
    test_util::write_text(shortFile, "too short to train on");
    e = error_of([&] { finetune_and_export(*model, {}, shortFile.toStdString(), o, out, eo); });
    QVERIFY2(e.contains(shortFile), qPrintable(e));
    QVERIFY(!std::filesystem::exists(out));
    // An existing folder is left alone unless overwrite is asked for.
    const QString taken = m_tmp.filePath("taken");
    test_util::write_text(taken + "/keep.txt", "mine");
    e = error_of([&] { finetune_and_export(*model, {}, m_target, o, taken.toStdString(), eo); });
    QVERIFY2(e.contains(taken) && e.contains("exists"), qPrintable(e));
    QVERIFY(QFile::exists(taken + "/keep.txt"));
    o.holdout = 1.5;
    e = error_of([&] { finetune_and_export(*model, {}, m_target, o, out, eo); });
    QVERIFY2(e.contains("holdout"), qPrintable(e));
  }

  // train.init_from: S starts as the dense model (the soup then learns only the experts' offsets
  // from it); a model of another size is refused naming the file.
  void initFromStartsSharedAsTheDenseModel() {
    RunConfig c = test_util::tiny_run_config(m_tmp.filePath("corpus"), m_tmp.filePath("from-dense"), 1);
    c.train.init_from = m_dense;
    c.train.lr = 1e-9;  // one step that cannot move S measurably
    c.train.weight_decay = 0;
    const auto soup = Model::load(train(c), "cpu");
    const auto dense = Model::load(m_dense, "cpu")->instantiate_dense({})->parameters();
    const SafetensorsFile f = read_safetensors(soup->facts().path);
    const auto S = f.to_f32("S");
    QCOMPARE(S.size(), dense.size());
    double max_diff = 0;
    for (size_t i = 0; i < S.size(); ++i) max_diff = std::max(max_diff, double(std::abs(S[i] - dense[i])));
    QVERIFY2(max_diff < 1e-6, qPrintable(QString("S differs from the dense model by %1").arg(max_diff)));

    RunConfig wide = c;
    wide.model.n_embd = 64;
    wide.train.out_dir = m_tmp.filePath("from-dense-wide").toStdString();
    const QString e = error_of([&] { train(wide); });
    QVERIFY2(e.contains(QString::fromStdString(m_dense)) && e.contains("differs"), qPrintable(e));
  }
};

QTEST_GUILESS_MAIN(TestFinetune)
#include "test_finetune.moc"
