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
};

QTEST_MAIN(TestSimplexWeights)
#include "test_simplex_weights.moc"
