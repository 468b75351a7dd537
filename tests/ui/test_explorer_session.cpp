// The explorer's session without a widget (QCoreApplication, Qt Core only): its rules on a REAL
// tiny bank trained here, each checked against a direct computation with the engine's own API.
// Latest wins (a burst of moves: one instantiation, frames end on the last h); two tiers then
// refinement (quick, full, rounds of 2, 4, ... windows, each frame's bars equal to the models'
// own window losses); pairing (a new reference is paired on the same windows, from the first
// again); cancellation (a move ends the old h's refinement); the target text's bar; a path
// between two specialists.
#include <QSemaphore>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <memory>
#include <vector>

#include "app/glue/explorer_session.h"
#include "souplab/inspect.h"
#include "souplab/model.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"
#include "ui_test_bank.h"
#include "ui_test_corpus.h"

using namespace souplab::gui;
using Tier = ExplorerFrame::Tier;
using Change = ExplorerFrame::Change;

namespace {

// Every frame a session publishes, in order.
struct FrameLog {
  explicit FrameLog(ExplorerSession& session) {
    QObject::connect(&session, &ExplorerSession::frameChanged, &session,
                     [this](const FramePtr& f) { frames.push_back(f); });
  }
  // Asks for h and waits for its first frame; returns its generation (0: none came in time).
  quint64 show(ExplorerSession& session, const std::vector<double>& h) const {
    const quint64 g = session.requestWeights(h);
    return QTest::qWaitFor([&] { return find(g, Change::kSpecialist) != nullptr; }, 60000) ? g : 0;
  }
  FramePtr last() const { return frames.empty() ? nullptr : frames.back(); }
  // The newest frame of `change` for request `generation` (null: none).
  FramePtr find(quint64 generation, Change change) const {
    for (auto it = frames.rbegin(); it != frames.rend(); ++it)
      if ((*it)->generation == generation && (*it)->change == change) return *it;
    return nullptr;
  }
  std::vector<FramePtr> frames;
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// The service sizes its libtorch team to the free cores and the test thread does not; GEMMs
// split over other thread counts sum in another order (a few float32 ulps).
bool close(double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(1.0, std::abs(b)); }
#define QCLOSE(a, b) QVERIFY2(close((a), (b)), qPrintable(QStringLiteral("%1 vs %2").arg(a, 0, 'g', 17).arg(b, 0, 'g', 17)))

}  // namespace

class TestExplorerSession : public QObject {
  Q_OBJECT

  QTemporaryDir m_tmp;
  QString m_soup, m_dense;

  // The bank's validation windows as the session's service opens them (first 2, up to `keep`).
  std::shared_ptr<const souplab::ValidationSet> windows(int keep) const {
    auto bank = souplab::Model::load(m_soup.toStdString(), "cpu", "fp32");
    return souplab::ValidationSet::for_model(bank->facts(), keep);
  }

  // A session on the tiny soup with one tier (context 32) or two, loaded and showing the first h.
  void load(ExplorerSession& session, FrameLog& log, bool twoTiers) {
    session.setDevice(QStringLiteral("cpu"));
    if (twoTiers) session.setQuickEvaluation(16, 2);
    session.loadBank(m_soup);
    QTRY_VERIFY_WITH_TIMEOUT(session.hasBank(), 120000);
    QCOMPARE(log.frames.front()->change, Change::kBank);
    QCOMPARE(log.frames.front()->referenceLabel, QStringLiteral("soup at uniform h"));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    souplab::test::isolateIn(m_tmp);
    QVERIFY(!souplab::test::writeUiTestCorpus(m_tmp.filePath("corpus")).isEmpty());
    const std::string log = m_tmp.filePath("runs.sqlite").toStdString();
    m_soup = souplab::test::trainTinyTestBank(m_tmp.filePath("corpus"), 5, 2, "session-soup", log);
    m_dense = souplab::test::trainTinyTestBank(m_tmp.filePath("corpus"), 5, 2, "session-dense", log,
                                               souplab::ModelKind::kDense);
    QVERIFY(!m_soup.isEmpty() && !m_dense.isEmpty());
  }

  // A burst of moves while the service is busy costs one instantiation, and the frames end on
  // the last h; generations only grow.
  void latestWins() {
    ExplorerSession session;
    FrameLog log(session);
    load(session, log, false);
    const quint64 first = log.show(session, {0.2, 0.3, 0.5});
    QVERIFY(first != 0);
    const quint64 before = session.service()->instantiationCount();
    QSemaphore busy, release;
    QMetaObject::invokeMethod(session.service(), [&] { busy.release(); release.acquire(); }, Qt::QueuedConnection);
    QVERIFY(busy.tryAcquire(1, 30000));
    quint64 lastGeneration = 0;
    std::vector<double> lastH;
    for (int i = 1; i <= 50; ++i) {
      lastH = {0.01 * i, 0.5, 0.5 - 0.01 * i};
      lastGeneration = session.requestWeights(lastH);
    }
    release.release();
    QTRY_VERIFY_WITH_TIMEOUT(log.find(lastGeneration, Change::kSpecialist) != nullptr, 60000);
    QTest::qWait(200);
    QCOMPARE(session.service()->instantiationCount() - before, quint64(1));
    QCOMPARE(log.last()->h, lastH);
    quint64 seen = 0;
    for (const auto& f : log.frames) {
      QVERIFY(f->generation >= seen);
      seen = f->generation;
      QVERIFY(f->generation == 0 || f->generation == first || f->generation == lastGeneration);
    }
  }

  // Quick bars, then the full tier, then rounds of 2, 4, 8, 16 windows: every frame's bars are
  // the two models' own means over the windows it names, and the reference's are on the same ones.
  void tiersAndRefinementEqualDirectComputation() {
    ExplorerSession session;
    FrameLog log(session);
    session.setRefinementWindows(16);
    session.setTightError(0);  // refine until the windows run out
    load(session, log, true);
    const std::vector<double> h = {0.7, 0.2, 0.1};
    const quint64 g = session.requestWeights(h);
    QTRY_VERIFY_WITH_TIMEOUT(log.find(g, Change::kRefined) && log.find(g, Change::kRefined)->refinementDone, 120000);

    // The order of tiers for this request.
    std::vector<Tier> tiers;
    for (const auto& f : log.frames)
      if (f->generation == g) tiers.push_back(f->tier);
    QVERIFY(tiers.size() >= 6);
    QCOMPARE(tiers[0], Tier::kQuick);

    QCOMPARE(tiers[1], Tier::kFull);
    for (size_t i = 2; i < tiers.size(); ++i) QVERIFY(tiers[i] == Tier::kRefined || tiers[i] == Tier::kFull);

    const FramePtr full = log.find(g, Change::kSpecialist);
    QCOMPARE(full->tier, Tier::kFull);
    // The full tier brings what the specialist is made of: alpha(h) of the coefficient network.
    QVERIFY(full->inspection != nullptr);
    const souplab::SoupInspection direct = session.bank()->inspect(session.bank()->weights(h));
    QCOMPARE(full->inspection->alpha.size(), direct.alpha.size());
    for (size_t j = 0; j < direct.alpha.size(); ++j) QCLOSE(full->inspection->alpha[j], direct.alpha[j]);
    QVERIFY(full->newSpecialist == false);  // the quick frame brought this specialist
    for (const auto& f : log.frames)
      if (f->generation == g) {
        QVERIFY(f->newSpecialist);  // the request's first frame brings its specialist,
        QVERIFY(!f->inspection);    // and no inspection until the full tier
        break;
      }
    const auto set = windows(16);
    auto bank = session.bank();
    const auto reference = bank->instantiate(bank->reference_weights());
    for (size_t d = 0; d < 3; ++d) {
      QCLOSE(full->losses[d], mean(full->specialist->window_losses(*set, d, 0, 2)));
      QCLOSE(full->reference[d], mean(reference->window_losses(*set, d, 0, 2)));
    }
    // Rounds double their windows; the last one's bars are the means over 16 windows.
    std::vector<int> rounds;
    for (const auto& f : log.frames)
      if (f->generation == g && f->change == Change::kRefined) rounds.push_back(f->refinedWindows);
    QCOMPARE(rounds, (std::vector<int>{2, 4, 8, 16}));
    const FramePtr done = log.last();
    QVERIFY(done->refinementDone);
    for (size_t d = 0; d < 3; ++d) {
      QCLOSE(done->losses[d], mean(done->specialist->window_losses(*set, d, 0, 16)));
      QCLOSE(done->reference[d], mean(reference->window_losses(*set, d, 0, 16)));
      QVERIFY(std::isfinite(done->diffSe[d]) && done->diffSe[d] > 0);
    }
    QCOMPARE(done->fewestBytes, qint64(16 * 32));
    // The mixture line from the same bars, with its standard error.
    double mine = 0, theirs = 0;
    for (size_t d = 0; d < 3; ++d) {
      mine += h[d] * done->losses[d];
      theirs += h[d] * done->reference[d];
    }
    QCOMPARE(done->mixtureChange, (mine - theirs) / theirs);
    QVERIFY(std::isfinite(done->mixtureChangeSe) && done->mixtureChangeSe > 0);
  }

  // Another reference: the bars go back to the first windows, the new model's, and the
  // refinement pairs it from there on the same windows as the specialist.
  void newReferenceIsPairedOnTheSameWindows() {
    ExplorerSession session;
    FrameLog log(session);
    session.setRefinementWindows(8);
    session.setTightError(0);
    load(session, log, false);
    const quint64 g = session.requestWeights({0.1, 0.1, 0.8});
    QTRY_VERIFY_WITH_TIMEOUT(log.last() && log.last()->generation == g && log.last()->refinementDone, 120000);
    const size_t before = log.frames.size();
    session.compareWith(m_dense);
    QTRY_VERIFY_WITH_TIMEOUT(log.frames.size() > before && log.last()->refinementDone &&
                                 log.last()->referenceLabel.contains(QStringLiteral("session-dense")),
                             120000);
    const FramePtr switched = log.frames[before];
    QCOMPARE(switched->change, Change::kReference);
    QCOMPARE(switched->tier, Tier::kFull);  // paired from the first windows again
    QVERIFY(switched->diffSe.empty());
    auto dense = souplab::Model::load(m_dense.toStdString(), "cpu", "fp32");
    const auto denseModel = dense->instantiate(dense->reference_weights());
    const auto set = windows(8);
    const FramePtr done = log.last();
    QCOMPARE(done->generation, g);  // the same specialist, now against the dense model
    for (size_t d = 0; d < 3; ++d) {
      QCLOSE(switched->reference[d], mean(denseModel->window_losses(*set, d, 0, 2)));
      QCLOSE(done->reference[d], mean(denseModel->window_losses(*set, d, 0, 8)));
      QCLOSE(done->losses[d], mean(done->specialist->window_losses(*set, d, 0, 8)));
    }
  }

  // A move during a refinement ends it: no round of the old h comes after the new h's bars.
  void aMoveCancelsTheOldRefinement() {
    ExplorerSession session;
    FrameLog log(session);
    session.setRefinementWindows(256);
    session.setTightError(0);
    load(session, log, false);
    const quint64 old = session.requestWeights({0.8, 0.1, 0.1});
    QTRY_VERIFY_WITH_TIMEOUT(log.find(old, Change::kRefined) && log.find(old, Change::kRefined)->refinedWindows >= 8,
                             120000);
    const quint64 next = session.requestWeights({0.1, 0.8, 0.1});
    // From the request on, nothing of the old h is published any more.
    const size_t atMove = log.frames.size();
    QTRY_VERIFY_WITH_TIMEOUT(log.find(next, Change::kRefined) != nullptr, 60000);
    QTest::qWait(300);
    for (size_t i = atMove; i < log.frames.size(); ++i) QVERIFY(log.frames[i]->generation != old);
  }

  // A target text: both models' loss on 16 windows of it, as the engine computes them; dropped
  // with a new bank.
  void targetTextBar() {
    ExplorerSession session;
    FrameLog log(session);
    load(session, log, false);
    const quint64 g = log.show(session, {0.5, 0.25, 0.25});
    QVERIFY(g != 0);
    const QString text = m_tmp.filePath("corpus/code/doc1.txt");
    session.setTarget(text);
    QTRY_VERIFY_WITH_TIMEOUT(log.find(g, Change::kTarget) != nullptr, 60000);
    const FramePtr f = log.find(g, Change::kTarget);
    QCOMPARE(f->targetLabel, QStringLiteral("doc1.txt"));
    auto bank = session.bank();
    const auto target = souplab::ValidationSet::from_text(text.toStdString(), "doc1.txt", 32, 16);
    QCLOSE(f->targetSpecialist, f->specialist->evaluate(*target).at(0));
    QCLOSE(f->targetReference, bank->instantiate(bank->reference_weights())->evaluate(*target).at(0));
    // A new h: the bar is blank until that specialist's loss is in, then it is that one's.
    const quint64 g2 = session.requestWeights({0.1, 0.1, 0.8});
    QTRY_VERIFY_WITH_TIMEOUT(log.find(g2, Change::kTarget) != nullptr, 60000);
    QVERIFY(std::isnan(log.find(g2, Change::kSpecialist)->targetSpecialist));
    QCLOSE(log.find(g2, Change::kTarget)->targetSpecialist,
             log.find(g2, Change::kTarget)->specialist->evaluate(*target).at(0));
    // A newer checkpoint of the same run (the explorer following a training) keeps the target
    // text: its bar comes back for the reloaded bank's specialists.
    session.loadBank(m_soup, /*keepTarget=*/true);
    QTRY_VERIFY_WITH_TIMEOUT(session.hasBank() && log.last()->change == Change::kBank, 120000);
    QCOMPARE(log.last()->targetLabel, QStringLiteral("doc1.txt"));
    const quint64 g3 = session.requestWeights({0.3, 0.3, 0.4});
    QTRY_VERIFY_WITH_TIMEOUT(log.find(g3, Change::kTarget) != nullptr &&
                                 !std::isnan(log.find(g3, Change::kTarget)->targetSpecialist),
                             60000);
    QCLOSE(log.find(g3, Change::kTarget)->targetSpecialist,
           log.find(g3, Change::kTarget)->specialist->evaluate(*target).at(0));
    session.loadBank(m_soup);
    QTRY_VERIFY_WITH_TIMEOUT(session.hasBank() && log.last()->change == Change::kBank, 120000);
    QVERIFY(log.last()->targetLabel.isEmpty());
  }

  // A path between two specialists: both curves start at h_A's specialist and end at h_B's (the
  // quick tier's bars of each, on the same windows), differ in between, and the reference's
  // level equals its quick bars; only the newest request is answered.
  void pathEndsAreTheTwoSpecialists() {
    ExplorerSession session;
    FrameLog log(session);
    load(session, log, true);
    const auto quickFrame = [&](quint64 g) -> FramePtr {
      for (const auto& f : log.frames)
        if (f->generation == g && f->tier == Tier::kQuick) return f;
      return nullptr;
    };
    const std::vector<double> hA = {0.8, 0.1, 0.1}, hB = {0.1, 0.1, 0.8};
    const quint64 gA = session.requestWeights(hA);
    QTRY_VERIFY_WITH_TIMEOUT(log.find(gA, Change::kSpecialist) && log.find(gA, Change::kSpecialist)->tier == Tier::kFull, 60000);
    const quint64 gB = session.requestWeights(hB);
    QTRY_VERIFY_WITH_TIMEOUT(log.find(gB, Change::kSpecialist) && log.find(gB, Change::kSpecialist)->tier == Tier::kFull, 60000);
    const FramePtr a = quickFrame(gA), b = quickFrame(gB);
    QVERIFY(a && b);

    std::vector<PathResult> answers;
    connect(&session, &ExplorerSession::pathReady, this, [&](const PathResult& p) { answers.push_back(p); });
    const quint64 stale = session.requestPath(hB, hA, 2);  // superseded before it can be delivered
    const quint64 id = session.requestPath(hA, hB, 4);
    QVERIFY(stale != 0 && id > stale);
    QTRY_VERIFY_WITH_TIMEOUT(!answers.empty(), 60000);
    QTest::qWait(100);
    QCOMPARE(int(answers.size()), 1);
    const PathResult& path = answers.front();
    QCOMPARE(path.id, id);
    QCOMPARE(int(path.points.size()), 5);
    QCOMPARE(path.points.front().t, 0.0);
    QCOMPARE(path.points.back().t, 1.0);
    const size_t k = hA.size();
    for (size_t d = 0; d < k; ++d) {
      QCLOSE(path.points.front().along_h[d], a->losses[d]);
      QCLOSE(path.points.front().along_weights[d], a->losses[d]);
      QCLOSE(path.points.back().along_h[d], b->losses[d]);
      QCLOSE(path.points.back().along_weights[d], b->losses[d]);
      QCLOSE(path.reference[d], a->reference[d]);
    }
    // In between, the soup's path and the linear merge are different models.
    bool differ = false;
    for (size_t d = 0; d < k; ++d) differ = differ || !close(path.points[2].along_h[d], path.points[2].along_weights[d]);
    QVERIFY(differ);
    QVERIFY(!path.windows.isEmpty());
    QVERIFY(path.error.isEmpty());
    // A path that cannot be traced still answers, with the reason and no points.
    answers.clear();
    const quint64 bad = session.requestPath({0.5, 0.5}, {0.5, 0.5}, 2);
    QTRY_VERIFY_WITH_TIMEOUT(!answers.empty(), 60000);
    QCOMPARE(answers.front().id, bad);
    QVERIFY(answers.front().points.empty());
    QVERIFY2(answers.front().error.contains(QStringLiteral("3 domains")), qPrintable(answers.front().error));
  }
};

QTEST_GUILESS_MAIN(TestExplorerSession)
#include "test_explorer_session.moc"
