// The explorer on a laptop-sized screen (issue: the explorer for many domains). Run under Xvfb
// with a 1366 x 768 screen (tests/ui/explorer_layout.cmake); with a 14- and a 64-domain bank of
// long cluster-like names: the main window (frame included) stays inside the screen after the
// bank loads and after weights are typed; every slider row's % box and lock lie inside the
// slider panel; the chart draws one bar group per domain in view and its axis ends inside the
// window; the filter ("name contains", "only non-zero") narrows the chart to the same domains.
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QScreen>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "app/glue/inference_worker.h"
#include "tests/ui/ui_test_bank.h"
#include "ui/explorer/domain_sliders.h"
#include "ui/explorer/loss_chart.h"
#include "ui/explorer/specialist_explorer.h"
#include "ui/main_window.h"
#include "ui/qcustomplot_include.h"

using namespace souplab::gui;

namespace {

// k domains named like `corpus cluster` names them (index and characteristic n-grams), each a
// few documents of its own word mix.
QString writeManyDomainCorpus(const QString& dir, int k) {
  const QStringList grams = {"return", "function", "the_of", "und_der", "printf", "lambda", "verse", "struct"};
  for (int d = 0; d < k; ++d) {
    const QString name = QStringLiteral("c%1_%2_%3").arg(d, 2, 10, QLatin1Char('0')).arg(grams[d % 8]).arg(grams[(d / 8) % 8]);
    QDir(dir).mkpath(name);
    for (int doc = 0; doc < 3; ++doc) {
      QFile f(QDir(dir).filePath(name + QStringLiteral("/doc%1.txt").arg(doc)));
      if (!f.open(QIODevice::WriteOnly)) return {};
      QByteArray text;
      for (int i = 0; text.size() < 1500; ++i)
        text += (grams[(d + i) % 8] + QStringLiteral(" %1 ").arg((i * (d + 3)) % 97)).toUtf8();
      f.write(text);
    }
  }
  return dir;
}

}  // namespace

class TestExplorerLayout : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void fitsTheScreen_data() {
    QTest::addColumn<int>("domains");
    QTest::newRow("14 domains") << 14;
    QTest::newRow("64 domains") << 64;
  }
  void fitsTheScreen() {
    QFETCH(int, domains);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    qputenv("SOUPLAB_DATA_DIR", tmp.filePath("data").toUtf8());
    qputenv("SOUPLAB_CACHE_DIR", tmp.filePath("cache").toUtf8());
    const QString corpus = writeManyDomainCorpus(tmp.filePath("corpus"), domains);
    QVERIFY(!corpus.isEmpty());
    const QString bank = souplab::test::trainTinyTestBank(corpus, 2, 4, "layout", tmp.filePath("runs.sqlite").toStdString());

    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QRect screen = window.screen()->availableGeometry();
    if (screen.width() > 1366 || screen.height() > 768)
      QSKIP("needs a screen of at most 1366 x 768: run under xvfb-run -s '-screen 0 1366x768x24'");
    SpecialistExplorer* explorer = window.explorer();
    QSignalSpy shown(explorer, &SpecialistExplorer::specialistDisplayed);
    window.showTab(MainWindow::ExplorerTab);
    explorer->inferenceWorker()->setQuickEvaluation(16, 2);  // two tiers (the tiny bank's context is 32)
    window.openBank(bank);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 120000);
    QTest::qWait(200);
    QVERIFY2(screen.contains(window.frameGeometry()),
             qPrintable(QStringLiteral("window %1x%2+%3+%4 off the %5x%6 screen")
                            .arg(window.frameGeometry().width()).arg(window.frameGeometry().height())
                            .arg(window.frameGeometry().x()).arg(window.frameGeometry().y())
                            .arg(screen.width()).arg(screen.height())));

    // Typed weights (the report: the window grew to 1484 px after this; the undo button took the
    // step's text, "Undo Set h to …", as its width).
    DomainSliders* sliders = explorer->domainSliders();
    const QStringList names = sliders->domains();
    QCOMPARE(names.size(), domains);
    shown.clear();
    QVERIFY(sliders->applyText(names[1] + "=0.3," + names[domains - 1] + "=0.7"));
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
    QTest::qWait(200);
    QVERIFY2(screen.contains(window.frameGeometry()), "the window outgrew the screen after typed weights");
    QVERIFY(explorer->mixtureChange() != 0);  // the summary line compares on h's mixture

    // Every row's % box and lock inside the slider panel sideways (rows scroll vertically only).
    for (int i = 0; i < domains; ++i) {
      const QCheckBox* lock = sliders->lockBox(i);
      const int left = lock->mapTo(sliders, QPoint(0, 0)).x(), right = left + lock->width();
      QVERIFY2(left >= 0 && right <= sliders->width(),
               qPrintable(QStringLiteral("row %1's lock spans x %2..%3 of a %4 px panel").arg(i).arg(left).arg(right).arg(sliders->width())));
    }

    // The chart: one bar group per domain on the page, the axis inside the window, and the
    // pages together show every domain once (at 64 domains the width holds fewer).
    LossChart* chart = explorer->lossChart();
    std::vector<int> seen;
    for (int page = 0; page < chart->pageCount(); ++page) {
      chart->setPage(page);
      const std::vector<int> on = chart->pageDomains();
      QVERIFY(!on.empty());
      QCOMPARE(int(chart->specialistBars()->data()->size()), int(on.size()));
      QVERIFY(chart->plot()->xAxis->range().upper >= double(on.size()) - 1 + 0.4);
      seen.insert(seen.end(), on.begin(), on.end());
    }
    QCOMPARE(int(seen.size()), domains);
    for (int i = 0; i < domains; ++i) QCOMPARE(seen[size_t(i)], i);
    qInfo("%d domains: the chart (%d px of a %d px window; sliders %d px) shows %d per page, %d pages", domains,
          chart->width(), window.width(), sliders->width(), int(chart->pageDomains().size()), chart->pageCount());
    chart->setPage(0);
    const int axisRight = chart->plot()->mapTo(&window, chart->plot()->axisRect()->rect().topRight()).x();
    QVERIFY2(axisRight <= window.width(), "the chart's axis ends outside the window");

    // The first bars of a move are computed for the page on screen only (at k = 256 every
    // domain's would be 4x the 100 ms budget); the full windows follow for all.
    std::vector<double> quick;
    const auto spy = connect(explorer, &SpecialistExplorer::specialistDisplayed, this, [&] {
      if (!explorer->displayedIsPrecise()) quick = explorer->displayedLosses();
    });
    QVERIFY(sliders->applyText(names[0] + "=0.5," + names[2] + "=0.5"));
    QTRY_VERIFY_WITH_TIMEOUT(!quick.empty() && explorer->displayedIsPrecise(), 60000);
    disconnect(spy);
    const std::vector<int> page = chart->pageDomains();
    for (int d : page) QVERIFY(std::isfinite(quick[size_t(d)]));
    QCOMPARE(int(std::count_if(quick.begin(), quick.end(), [](double x) { return std::isfinite(x); })), int(page.size()));
    for (double x : explorer->displayedLosses()) QVERIFY(std::isfinite(x));

    // The filter narrows the rows and the chart alike; h is untouched.
    const std::vector<double> before = sliders->weights();
    sliders->setFilter(QStringLiteral("c0"), false);  // c00..c09
    QCOMPARE(int(chart->view().size()), std::min(domains, 10));
    QCOMPARE(int(chart->specialistBars()->data()->size()), std::min(domains, 10));
    sliders->setFilter(QString(), true);  // the two typed domains
    QCOMPARE(int(chart->view().size()), 2);
    QCOMPARE(sliders->weights(), before);
    sliders->setFilter(QString(), false);
    QCOMPARE(int(chart->view().size()), domains);
  }
};

QTEST_MAIN(TestExplorerLayout)
#include "test_explorer_layout.moc"
