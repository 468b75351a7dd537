// SimplexWeights (the rules) and DomainSliders (the widget + undo stack) — no engine needed
// beyond the Qt-free domain-weight helpers.
#include <QCheckBox>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>
#include <QUndoStack>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "app/glue/simplex_weights.h"
#include "ui/explorer/domain_sliders.h"

using souplab::SimplexWeights;
using souplab::gui::DomainSliders;

namespace {

double sum(const std::vector<double>& h) { return std::accumulate(h.begin(), h.end(), 0.0); }

bool onSimplex(const std::vector<double>& h) {
  for (double w : h)
    if (!(w >= 0)) return false;
  return std::abs(sum(h) - 1.0) < 1e-12;
}

}  // namespace

class TestSimplexWeights : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void startsUniform() {
    SimplexWeights w(4);
    for (double x : w.weights()) QCOMPARE(x, 0.25);
  }

  void moveRescalesOthersProportionally() {
    SimplexWeights w(3);
    w.setWeights({0.5, 0.3, 0.2});
    QCOMPARE(w.setWeight(0, 0.8), 0.8);
    QVERIFY(std::abs(w.weight(1) - 0.12) < 1e-12);
    QVERIFY(std::abs(w.weight(2) - 0.08) < 1e-12);
    QVERIFY(onSimplex(w.weights()));
  }

  void zeroOthersShareEqually() {
    SimplexWeights w(3);
    w.setOneHot(0);
    w.setWeight(0, 0.4);
    QVERIFY(std::abs(w.weight(1) - 0.3) < 1e-12);
    QVERIFY(std::abs(w.weight(2) - 0.3) < 1e-12);
    QVERIFY(onSimplex(w.weights()));
  }

  void lockedWeightKeepsItsValue() {
    SimplexWeights w(4);
    w.setLocked(1, true);
    w.setWeight(0, 0.6);
    QCOMPARE(w.weight(1), 0.25);  // bit for bit
    QVERIFY(std::abs(w.weight(2) - 0.075) < 1e-12);
    QVERIFY(std::abs(w.weight(3) - 0.075) < 1e-12);
    QVERIFY(onSimplex(w.weights()));
    // A locked weight does not move itself either.
    QCOMPARE(w.setWeight(1, 0.9), 0.25);
    QCOMPARE(w.weight(1), 0.25);
  }

  void moveBeyondTheUnlockedBudgetIsClamped() {
    SimplexWeights w(4);
    w.setLocked(1, true);
    w.setLocked(2, true);
    QCOMPARE(w.maxWeight(0), 0.5);
    QCOMPARE(w.setWeight(0, 0.9), 0.5);
    QCOMPARE(w.weight(3), 0.0);
    QCOMPARE(w.setWeight(0, -1.0), 0.0);
    QCOMPARE(w.weight(3), 0.5);
    QCOMPARE(w.weight(1), 0.25);
    QCOMPARE(w.weight(2), 0.25);
    QVERIFY(onSimplex(w.weights()));
  }

  void onlyFreeWeightTakesWhatLocksLeave() {
    SimplexWeights w(3);
    w.setLocked(1, true);
    w.setLocked(2, true);
    // Nobody can absorb a change: weight 0 stays 1 - locked.
    QVERIFY(std::abs(w.setWeight(0, 0.1) - 1.0 / 3.0) < 1e-15);
    QVERIFY(onSimplex(w.weights()));
  }

  void nonFiniteMoveIsIgnored() {
    SimplexWeights w(2);
    w.setWeight(0, std::nan(""));
    QCOMPARE(w.weight(0), 0.5);
  }

  void presets() {
    SimplexWeights w(4);
    w.setOneHot(2);
    QCOMPARE(w.weights(), (std::vector<double>{0, 0, 1, 0}));
    w.setUniform();
    QCOMPARE(w.weights(), (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
    w.setWeights({1, 1, 2, 0});  // normalised
    QCOMPARE(w.weights(), (std::vector<double>{0.25, 0.25, 0.5, 0}));
    // Locks are flags: a preset replaces h but keeps them.
    w.setLocked(3, true);
    w.setUniform();
    QVERIFY(w.isLocked(3));
  }

  void badVectorsThrow() {
    SimplexWeights w(3);
    QVERIFY_THROWS_EXCEPTION(std::exception, w.setWeights({1, 2}));
    QVERIFY_THROWS_EXCEPTION(std::exception, w.setWeights({1, -1, 1}));
    QVERIFY_THROWS_EXCEPTION(std::exception, w.setWeights({0, 0, 0}));
    QCOMPARE(w.weights(), (std::vector<double>(3, 1.0 / 3.0)));  // untouched
  }

  void randomMovesStayOnTheSimplex() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-0.2, 1.2);
    SimplexWeights w(6);
    for (int step = 0; step < 5000; ++step) {
      const size_t i = rng() % 6;
      if (rng() % 10 == 0) {
        w.setLocked(i, !w.isLocked(i));
        continue;
      }
      const std::vector<double> before = w.weights();
      w.setWeight(i, u(rng));
      QVERIFY2(onSimplex(w.weights()), qPrintable(QString("step %1").arg(step)));
      for (size_t j = 0; j < 6; ++j)
        if (w.isLocked(j)) QCOMPARE(w.weight(j), before[j]);
    }
  }

  // --- the widget
  void groupMoveKeepsInnerMixtureAndRescalesTheRest() {
    SimplexWeights w(5);
    w.setWeights({0.1, 0.3, 0.2, 0.25, 0.15});
    QCOMPARE(w.groupWeight({0, 1}), 0.4);
    const double set = w.setGroupWeight({0, 1}, 0.8);
    QVERIFY(std::abs(set - 0.8) < 1e-12);
    // Inside: 1:3 as before; outside: 0.2:0.25:0.15 scaled to the remaining 0.2.
    QVERIFY(std::abs(w.weight(0) - 0.2) < 1e-12);
    QVERIFY(std::abs(w.weight(1) - 0.6) < 1e-12);
    QVERIFY(std::abs(w.weight(2) - 0.2 * 0.2 / 0.6) < 1e-12);
    QVERIFY(std::abs(w.weight(4) - 0.15 * 0.2 / 0.6) < 1e-12);
    QVERIFY(onSimplex(w.weights()));
    // A group at 0 shares a new total equally.
    w.setGroupWeight({0, 1}, 0.0);
    QCOMPARE(w.weight(0), 0.0);
    w.setGroupWeight({0, 1}, 0.5);
    QVERIFY(std::abs(w.weight(0) - 0.25) < 1e-12 && std::abs(w.weight(1) - 0.25) < 1e-12);
    QVERIFY(onSimplex(w.weights()));
  }

  void groupMoveRespectsLocks() {
    SimplexWeights w(4);
    w.setLocked(0, true);  // a member: keeps 0.25, the group cannot go below it
    w.setLocked(3, true);  // a non-member: keeps 0.25, the group cannot go above 0.75
    QCOMPARE(w.setGroupWeight({0, 1}, 0.1), 0.25);
    QCOMPARE(w.weight(0), 0.25);
    QCOMPARE(w.weight(1), 0.0);
    QVERIFY(std::abs(w.setGroupWeight({0, 1}, 0.95) - 0.75) < 1e-12);
    QCOMPARE(w.weight(3), 0.25);
    QCOMPARE(w.weight(0), 0.25);
    QVERIFY(onSimplex(w.weights()));
    // Every member locked: nothing moves.
    w.setLocked(1, true);
    const auto before = w.weights();
    w.setGroupWeight({0, 1}, 0.3);
    QCOMPARE(w.weights(), before);
  }

  void randomGroupMovesStayOnTheSimplex() {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(-0.2, 1.2);
    SimplexWeights w(9);
    for (int step = 0; step < 2000; ++step) {
      if (step % 97 == 0) w.setLocked(size_t(step) % 9, !w.isLocked(size_t(step) % 9));
      std::vector<size_t> members;
      for (size_t i = 0; i < 9; ++i)
        if (rng() % 3 == 0) members.push_back(i);
      w.setGroupWeight(members, u(rng));
      QVERIFY2(onSimplex(w.weights()), qPrintable(QString::number(step)));
    }
  }

  void widgetEmitsUniformOnNewDomains() {
    DomainSliders s;
    QSignalSpy spy(&s, &DomainSliders::weightsChanged);
    s.setDomains({"a", "b", "c"});
    QCOMPARE(spy.count(), 1);
    QCOMPARE(s.weights(), (std::vector<double>(3, 1.0 / 3.0)));
    QVERIFY(s.slider(2));
    QVERIFY(!s.slider(3));
  }

  void sliderDragRescalesAndMergesIntoOneUndoStep() {
    DomainSliders s;
    s.setDomains({"a", "b", "c"});
    const std::vector<double> start = s.weights();
    QSignalSpy spy(&s, &DomainSliders::weightsChanged);
    // The real signal path: QSlider::valueChanged.
    for (int v = 400; v <= 700; v += 50) s.slider(0)->setValue(v);
    QCOMPARE(spy.count(), 7);
    QVERIFY(std::abs(s.weights()[0] - 0.7) < 1e-12);
    QVERIFY(std::abs(s.weights()[1] - 0.15) < 1e-12);
    QVERIFY(onSimplex(s.weights()));
    QCOMPARE(s.undoStack()->count(), 1);
    const std::vector<double> end = s.weights();
    s.undoStack()->undo();
    QCOMPARE(s.weights(), start);
    s.undoStack()->redo();
    QCOMPARE(s.weights(), end);
    QCOMPARE(spy.count(), 9);  // undo and redo announce the change too
  }

  void gesturesAndSlidersSplitUndoSteps() {
    DomainSliders s;
    s.setDomains({"a", "b", "c"});
    s.moveSlider(0, 0.5);
    s.moveSlider(0, 0.6);
    s.endGesture();  // release, then a new drag of the same slider
    s.moveSlider(0, 0.4);
    s.moveSlider(1, 0.1);  // another slider
    QCOMPARE(s.undoStack()->count(), 3);
  }

  void lockCheckboxKeepsWeightAndClamps() {
    DomainSliders s;
    s.setDomains({"a", "b", "c"});
    s.moveSlider(1, 0.6);
    auto* lock = s.findChild<QCheckBox*>("lock_1");
    QVERIFY(lock);
    lock->setChecked(true);
    QVERIFY(s.isLocked(1));
    QVERIFY(!s.slider(1)->isEnabled());
    const double locked = s.weights()[1];
    s.slider(0)->setValue(900);  // more than 1 - 0.6 is available
    QCOMPARE(s.weights()[1], locked);
    QVERIFY(std::abs(s.weights()[0] - (1.0 - locked)) < 1e-12);
    QCOMPARE(s.slider(0)->value(), 400);  // the handle snapped back to the clamp
    QVERIFY(onSimplex(s.weights()));
  }

  void presetsAndTypedWeights() {
    DomainSliders s;
    s.setDomains({"code", "prose", "math"}, {0.5, 0.25, 0.25});
    s.applyOneHot(1);
    QCOMPARE(s.weights(), (std::vector<double>{0, 1, 0}));
    s.applyTrainingMixture();
    QCOMPARE(s.weights(), (std::vector<double>{0.5, 0.25, 0.25}));
    QVERIFY(s.applyText("math=0.3,code=0.7"));
    QVERIFY(std::abs(s.weights()[0] - 0.7) < 1e-12);
    QCOMPARE(s.weights()[1], 0.0);
    QVERIFY(!s.applyText("poetry=1"));
    QVERIFY2(s.lastError().contains("poetry"), qPrintable(s.lastError()));
    QVERIFY(std::abs(s.weights()[0] - 0.7) < 1e-12);  // a bad text changes nothing
    s.applyUniform();
    QCOMPARE(s.weights(), (std::vector<double>(3, 1.0 / 3.0)));
  }

  void undoRedoRestoresEveryStateExactly() {
    DomainSliders s;
    s.setDomains({"a", "b", "c", "d"});
    std::vector<std::vector<double>> states{s.weights()};
    s.moveSlider(0, 0.37);
    states.push_back(s.weights());
    s.endGesture();
    s.applyOneHot(2);
    states.push_back(s.weights());
    s.moveSlider(2, 0.41);
    s.moveSlider(2, 0.13);
    states.push_back(s.weights());
    QVERIFY(s.applyText("0.1,0.2,0.3,0.4"));
    states.push_back(s.weights());
    s.endGesture();
    s.moveSlider(3, 0.9);
    states.push_back(s.weights());
    QCOMPARE(s.undoStack()->count(), int(states.size()) - 1);
    for (int i = int(states.size()) - 2; i >= 0; --i) {
      s.undoStack()->undo();
      QCOMPARE(s.weights(), states[size_t(i)]);  // operator== on doubles: bit for bit
    }
    for (size_t i = 1; i < states.size(); ++i) {
      s.undoStack()->redo();
      QCOMPARE(s.weights(), states[i]);
    }
  }

  void sortOrdersTheViewAndNeverChangesH() {
    DomainSliders s;
    QSignalSpy views(&s, &DomainSliders::visibleDomainsChanged);
    s.setDomains({"delta", "alpha", "charlie", "bravo"});
    QVERIFY(s.applyText("delta=0.1,alpha=0.2,charlie=0.3,bravo=0.4"));
    const auto h = s.weights();
    s.setSortOrder(DomainSliders::SortOrder::Name);
    QCOMPARE(s.visibleDomains(), (std::vector<int>{1, 3, 2, 0}));
    QVERIFY(views.count() >= 2);  // the corpus order, then the sorted one
    s.setSortOrder(DomainSliders::SortOrder::Weight);
    QCOMPARE(s.visibleDomains(), (std::vector<int>{3, 2, 1, 0}));
    // Losses: delta is 10 % better than the reference, charlie 20 % worse.
    s.setLosses({1.8, 2.0, 2.4, 2.0}, {2.0, 2.0, 2.0, 2.0});
    QCOMPARE(s.lossText(0), QStringLiteral("1.800 -10.0%"));
    QCOMPARE(s.lossText(2), QStringLiteral("2.400 +20.0%"));
    s.setSortOrder(DomainSliders::SortOrder::LargestChange);
    QCOMPARE(s.visibleDomains().front(), 2);
    QCOMPARE(s.visibleDomains()[1], 0);
    s.setSortOrder(DomainSliders::SortOrder::Loss);
    QCOMPARE(s.visibleDomains().front(), 2);
    // The filter keeps the order; sorting and filtering left h alone.
    s.setFilter(QStringLiteral("l"), false);  // alpha, charlie, delta
    QCOMPARE(s.visibleDomains(), (std::vector<int>{2, 1, 0}));
    QCOMPARE(s.weights(), h);
    // A move re-sorts "largest weight first" once the move is done.
    s.setFilter(QString(), false);
    s.setSortOrder(DomainSliders::SortOrder::Weight);
    s.endGesture();
    s.moveSlider(0, 0.9);
    QCOMPARE(s.visibleDomains().front(), 0);
  }

  void groupsMoveTogetherAndUndoAcrossThem() {
    DomainSliders s;
    s.setDomains({"code_c", "code_rust", "prose", "code_python", "laws"});
    // The automatic group: the shared prefix "code_".
    QCOMPARE(s.groupCount(), 1);
    QCOMPARE(s.groupName(0), QStringLiteral("code_*"));
    QCOMPARE(s.groupMembers(0), (std::vector<size_t>{0, 1, 3}));
    QVERIFY(s.applyText("code_c=0.1,code_rust=0.2,prose=0.3,code_python=0.3,laws=0.1"));
    const auto before = s.weights();
    s.endGesture();
    s.moveGroup(0, 0.3);
    s.moveGroup(0, 0.9);  // one drag: one undo step
    QVERIFY(onSimplex(s.weights()));
    QVERIFY(std::abs(s.weights()[0] + s.weights()[1] + s.weights()[3] - 0.9) < 1e-12);
    QVERIFY(std::abs(s.weights()[1] / s.weights()[0] - 2.0) < 1e-9);  // inner mixture kept
    QVERIFY(std::abs(s.weights()[2] / s.weights()[4] - 3.0) < 1e-9);  // outside too
    QCOMPARE(s.groupSlider(0)->value(), 900);
    // A user group from the filter, then a sort: h untouched by both.
    s.setFilter(QStringLiteral("o"), false);  // code_c, code_rust, prose, code_python
    const auto moved = s.weights();
    QCOMPARE(s.addGroup(QStringLiteral("with o"), s.visibleDomains()), 1);
    s.setSortOrder(DomainSliders::SortOrder::Name);
    QCOMPARE(s.weights(), moved);
    s.endGesture();
    s.moveGroup(1, 0.5);
    QVERIFY(std::abs(s.weights()[4] - 0.5) < 1e-12);  // laws takes the rest
    QVERIFY(onSimplex(s.weights()));
    s.undoStack()->undo();
    QCOMPARE(s.weights(), moved);
    s.undoStack()->undo();
    QCOMPARE(s.weights(), before);
    QCOMPARE(s.groupSlider(0)->value(), 600);
    s.undoStack()->redo();
    QCOMPARE(s.weights(), moved);
    // Groups of fewer than 2 or of every domain are refused; the user's can be removed.
    QCOMPARE(s.addGroup(QStringLiteral("one"), {2}), -1);
    QCOMPARE(s.addGroup(QStringLiteral("all"), {0, 1, 2, 3, 4}), -1);
    s.removeGroup(1);
    QCOMPARE(s.groupCount(), 1);
    s.removeGroup(0);  // automatic: stays
    QCOMPARE(s.groupCount(), 1);
  }
};

QTEST_MAIN(TestSimplexWeights)
#include "test_simplex_weights.moc"
