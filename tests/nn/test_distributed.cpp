// Data-parallel training over c10d/Gloo on loopback (issue: training beyond one machine). The
// ranks of a job run here as threads of one process, each with its own Trainer and process
// group, exactly as separate processes would (the CLI's --nproc and kill tests are in
// tests/app/test_distributed_cli.sh). Tolerance: W ranks sum their gradients in another order
// than one process does, so parameters agree to float-summation error; after 20 steps of the
// tiny bank the largest difference must stay below 1e-4 (measured ~5e-6 to 1.5e-5).
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "souplab/error.h"
#include "souplab/run_log.h"
#include "souplab/trainer.h"
#include "distributed_job.h"
#include "tests/tiny_run_config.h"
#include "tiny_corpus.h"

using namespace souplab;

namespace {

// W ranks sum their gradients in another order than one process: parameters agree to
// float-summation error, ~1e-5 after 20 steps of the tiny bank.
constexpr double kTolerance = 1e-4;
using test_util::max_difference;
using test_util::run_job;

}  // namespace

class TestDistributed : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_corpus;
  std::string m_log;
  int m_runs = 0;

  RunConfig config(int h_per_step, ModelKind kind = ModelKind::kSoup) {
    RunConfig c = test_util::tiny_run_config(m_corpus, m_tmp.filePath(QString("run-%1").arg(++m_runs)), 20);
    c.train.kind = kind;
    c.train.h_per_step = h_per_step;
    return c;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_corpus = test_util::corpus_in(m_tmp, 3, 60000);
    m_log = m_tmp.filePath("runs.sqlite").toStdString();
  }

  void environmentAndFlagsParse() {
    DistributedOptions d;
    parse_master_address("10.0.0.7:29511", &d);
    QCOMPARE(QString::fromStdString(d.master_addr), QString("10.0.0.7"));
    QCOMPARE(d.master_port, 29511);
    QVERIFY_EXCEPTION_THROWN(parse_master_address("10.0.0.7", &d), Error);
    QVERIFY_EXCEPTION_THROWN(parse_master_address("host:port", &d), Error);
    d.rank = 2;
    d.world_size = 2;
    QVERIFY_EXCEPTION_THROWN(validate(d), Error);
    qputenv("WORLD_SIZE", "2");
    qputenv("RANK", "1");
    qputenv("MASTER_PORT", "2950x");
    QVERIFY_EXCEPTION_THROWN(distributed_from_env(), Error);
    qputenv("MASTER_PORT", "29507");
    const DistributedOptions env = distributed_from_env();
    QCOMPARE(env.rank, 1);
    QCOMPARE(env.world_size, 2);
    QCOMPARE(env.master_port, 29507);
    qunsetenv("WORLD_SIZE");
    qunsetenv("RANK");
    qunsetenv("MASTER_PORT");
    QCOMPARE(distributed_from_env().world_size, 1);
  }

  // 2 ranks x B/2 rows equal 1 rank x B: whole h-groups per rank (4 h per step), one h-group
  // split across the ranks (1 h per step), and a dense model (no factored gradient).
  void twoRanksEqualOneRank_data() {
    QTest::addColumn<int>("hPerStep");
    QTest::addColumn<int>("kind");
    QTest::newRow("soup, 4 h per step") << 4 << int(ModelKind::kSoup);
    QTest::newRow("soup, 1 h per step") << 1 << int(ModelKind::kSoup);
    QTest::newRow("dense") << 1 << int(ModelKind::kDense);
  }
  void twoRanksEqualOneRank() {
    QFETCH(int, hPerStep);
    QFETCH(int, kind);
    const RunConfig single = config(hPerStep, ModelKind(kind));
    auto one = Trainer::start_new(single, m_log);
    QCOMPARE(int(one->run({})), int(TrainOutcome::kFinished));

    const RunConfig shared = config(hPerStep, ModelKind(kind));
    auto job = run_job(2, [&](const DistributedOptions& d) { return Trainer::start_new(shared, m_log, {}, d); });
    for (const auto& r : job) QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(job[0].trainer->world_size(), 2);
    QCOMPARE(job[1].trainer->run_id(), job[0].trainer->run_id());  // one run in the log
    const std::string ckpt = job[0].trainer->last_checkpoint();
    QVERIFY(std::filesystem::exists(ckpt));
    const double diff = max_difference(one->last_checkpoint(), ckpt);
    qInfo("2 ranks vs 1: largest difference %.3g", diff);
    QVERIFY2(diff < kTolerance, qPrintable(QString("2 ranks differ from 1 by %1").arg(diff)));
    // The run's 20 steps changed the parameters far beyond the tolerance (the test can fail).
    QVERIFY(max_difference(one->last_checkpoint(), std::filesystem::path(ckpt).parent_path().string() +
                                                       "/step_00000010.ckpt") > 100 * kTolerance);

    // Metrics logged once, by rank 0: one train-loss row per logging step.
    RunLog log(m_log);
    QCOMPARE(QString::fromStdString(log.get_run(job[0].trainer->run_id()).status), QString("finished"));
    int train_rows = 0;
    for (const auto& m : log.metrics(job[0].trainer->run_id(), std::string("loss")))
      train_rows += m.split == "train";
    QCOMPARE(train_rows, 4);  // steps 5, 10, 15, 20
  }

  // A pause asked on one rank only is agreed by the ranks: every rank waits it out at the same
  // step, outside the step's collectives (a rank pausing alone held the other in a collective
  // until it timed out), and the job then trains what an unpaused job trains.
  void pauseIsAgreedByTheRanks() {
    const RunConfig plain = config(4);
    auto reference = run_job(2, [&](const DistributedOptions& d) { return Trainer::start_new(plain, m_log, {}, d); });
    for (const auto& r : reference) QVERIFY2(r.error.empty(), r.error.c_str());

    const RunConfig c = config(4);
    std::array<std::atomic<int>, 2> polls{}, waited_at{};
    waited_at[0] = waited_at[1] = -1;
    auto job = run_job(
        2, [&](const DistributedOptions& d) { return Trainer::start_new(c, m_log, {}, d); }, 60,
        [&](int rank) {
          TrainCallbacks cb;
          // Rank 1 alone asks, before its 6th step; rank 0 never sees the request itself.
          cb.pause_requested = [&, rank] { return ++polls[size_t(rank)] == 6 && rank == 1; };
          cb.wait_while_paused = [&, rank] {
            waited_at[size_t(rank)] = polls[size_t(rank)].load();
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
          };
          return cb;
        });
    for (const auto& r : job) QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(waited_at[0].load(), 6);
    QCOMPARE(waited_at[1].load(), 6);
    QCOMPARE(job[0].trainer->step(), int64_t(20));
    const double diff = max_difference(reference[0].trainer->last_checkpoint(), job[0].trainer->last_checkpoint());
    qInfo("paused job vs unpaused: largest difference %.3g", diff);
    QVERIFY2(diff < kTolerance, qPrintable(QString("a pause changed the job by %1").arg(diff)));
  }

  // A checkpoint written by W ranks resumes on W' ranks: 2 -> 1 and 1 -> 2 both end where the
  // uninterrupted single-process run ends.
  void resumeOnAnotherWorldSize() {
    const RunConfig c = config(4);
    auto straight = Trainer::start_new(c, m_log);
    straight->run({});
    const std::string final_single = straight->last_checkpoint();
    const std::string mid_single = std::filesystem::path(final_single).parent_path().string() + "/step_00000010.ckpt";
    QVERIFY(std::filesystem::exists(mid_single));
    const std::string reference = m_tmp.filePath("reference.ckpt").toStdString();
    std::filesystem::copy_file(final_single, reference);

    // 1 -> 2: the single run's step-10 checkpoint, resumed by two ranks.
    auto up = run_job(2, [&](const DistributedOptions& d) { return Trainer::resume(mid_single, m_log, {}, 0, d); });
    for (const auto& r : up) QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(up[0].trainer->step(), int64_t(20));
    double diff = max_difference(reference, up[0].trainer->last_checkpoint());
    qInfo("resumed 1 -> 2 ranks vs straight: largest difference %.3g", diff);
    QVERIFY2(diff < kTolerance, qPrintable(QString("1 -> 2 ranks: %1").arg(diff)));

    // 2 -> 1: a two-rank run's step-10 checkpoint, resumed by one process.
    const RunConfig c2 = config(4);
    auto job = run_job(2, [&](const DistributedOptions& d) { return Trainer::start_new(c2, m_log, {}, d); });
    for (const auto& r : job) QVERIFY2(r.error.empty(), r.error.c_str());
    const std::string mid_job = c2.train.out_dir + "/step_00000010.ckpt";
    auto down = Trainer::resume(mid_job, m_log);
    QCOMPARE(down->world_size(), 1);
    QCOMPARE(int(down->run({})), int(TrainOutcome::kFinished));
    diff = max_difference(reference, down->last_checkpoint());
    qInfo("resumed 2 -> 1 ranks vs straight: largest difference %.3g", diff);
    QVERIFY2(diff < kTolerance, qPrintable(QString("2 -> 1 ranks: %1").arg(diff)));
  }

  // Ranks started with different settings refuse to train, each naming the rank that differs.
  void mismatchedConfigsAreRefused() {
    RunConfig c = config(4);
    auto job = run_job(2, [&](const DistributedOptions& d) {
      RunConfig mine = c;
      if (d.rank == 1) mine.train.lr *= 2;
      return Trainer::start_new(mine, m_log, {}, d);
    });
    for (const auto& r : job) {
      QVERIFY(!r.trainer);
      QVERIFY2(QString::fromStdString(r.error).contains("rank 1's config differs from rank 0's"), r.error.c_str());
    }
  }

  // --shard-bank: each rank holds half of S and E; the job trains what the replicated one does
  // (4 h per step with whole groups per rank, and 1 h per step with the group split), and its
  // checkpoints (gathered whole) resume replicated or sharded.
  void shardedEqualsReplicated_data() {
    QTest::addColumn<int>("hPerStep");
    QTest::newRow("4 h per step") << 4;
    QTest::newRow("1 h per step") << 1;
  }
  void shardedEqualsReplicated() {
    QFETCH(int, hPerStep);
    const RunConfig c = config(hPerStep);
    auto one = Trainer::start_new(c, m_log);
    one->run({});
    const std::string reference = m_tmp.filePath(QString("reference-%1.ckpt").arg(hPerStep)).toStdString();
    std::filesystem::copy_file(one->last_checkpoint(), reference);
    const std::string mid_single = c.train.out_dir + "/step_00000010.ckpt";

    const RunConfig c2 = config(hPerStep);
    auto job = run_job(2, [&](const DistributedOptions& d) {
      DistributedOptions sharded = d;
      sharded.shard_bank = true;
      return Trainer::start_new(c2, m_log, {}, sharded);
    });
    for (const auto& r : job) QVERIFY2(r.error.empty(), r.error.c_str());
    double diff = max_difference(reference, job[0].trainer->last_checkpoint());
    qInfo("sharded over 2 ranks vs 1 process: largest difference %.3g", diff);
    QVERIFY2(diff < kTolerance, qPrintable(QString("sharded differs by %1").arg(diff)));

    // A replicated checkpoint resumed sharded, and a sharded one resumed by one process.
    auto up = run_job(2, [&](const DistributedOptions& d) {
      DistributedOptions sharded = d;
      sharded.shard_bank = true;
      return Trainer::resume(mid_single, m_log, {}, 0, sharded);
    });
    for (const auto& r : up) QVERIFY2(r.error.empty(), r.error.c_str());
    diff = max_difference(reference, up[0].trainer->last_checkpoint());
    QVERIFY2(diff < kTolerance, qPrintable(QString("1 -> 2 sharded: %1").arg(diff)));
    auto down = Trainer::resume(c2.train.out_dir + "/step_00000010.ckpt", m_log);
    down->run({});
    diff = max_difference(reference, down->last_checkpoint());
    QVERIFY2(diff < kTolerance, qPrintable(QString("sharded 2 -> 1: %1").arg(diff)));
  }

  // --shard-bank refuses what it cannot split, with the reason.
  void shardingNeedsFullExperts() {
    RunConfig c = config(4);
    c.bank.expert_rank = 2;
    auto job = run_job(2, [&](const DistributedOptions& d) {
      DistributedOptions sharded = d;
      sharded.shard_bank = true;
      return Trainer::start_new(c, m_log, {}, sharded);
    });
    for (const auto& r : job)
      QVERIFY2(QString::fromStdString(r.error).contains("--shard-bank needs a soup with full experts"), r.error.c_str());
  }

  // A batch that does not split over the ranks is refused before anything trains.
  void batchThatDoesNotSplitIsRefused() {
    RunConfig c = config(4);
    c.train.batch_size = 9;
    c.train.h_per_step = 3;
    auto job = run_job(2, [&](const DistributedOptions& d) { return Trainer::start_new(c, m_log, {}, d); });
    for (const auto& r : job)
      QVERIFY2(QString::fromStdString(r.error).contains("does not split over 2 ranks"), r.error.c_str());
  }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "test_distributed.moc"
