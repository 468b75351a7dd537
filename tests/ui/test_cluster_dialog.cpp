// "New corpus from unlabelled text…" for real: the dialog clusters a raw folder of three clearly
// different sources on a worker thread (the GUI thread keeps serving events), lists the clusters,
// writes a corpus the trainer can open, and hands it on with trainRequested. A missing folder is
// an error naming it.
#include <QDir>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "app/glue/cluster_worker.h"
#include "souplab/corpus.h"
#include "ui/corpus/cluster_dialog.h"
#include "ui_test_corpus.h"

using namespace souplab::gui;

class TestClusterDialog : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    souplab::test::isolateIn(m_tmp);
  }

  void clustersARawFolderAndOffersTraining() {
    const QString raw = souplab::test::writeUiTestCorpus(m_tmp.filePath("raw"));
    QVERIFY(!raw.isEmpty());
    ClusterDialog dialog;
    dialog.rawEdit()->setText(raw);
    dialog.outEdit()->setText(m_tmp.filePath("clustered"));
    dialog.kSpin()->setValue(3);
    QSignalSpy finished(dialog.worker(), &ClusterWorker::finished);
    QSignalSpy train(&dialog, &ClusterDialog::trainRequested);
    // A heartbeat on the GUI thread: it must keep ticking while the worker clusters.
    int beats = 0;
    QTimer heartbeat;
    connect(&heartbeat, &QTimer::timeout, this, [&] { ++beats; });
    heartbeat.start(5);
    QVERIFY(!dialog.trainButton()->isEnabled());
    dialog.clusterButton()->click();
    QVERIFY(!dialog.clusterButton()->isEnabled());  // busy while the worker runs
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QVERIFY(beats > 0);
    const auto summary = finished.at(0).at(0).value<ClusterSummary>();
    QCOMPARE(summary.clusterLines.size(), 3);
    QVERIFY2(summary.purity >= 0.95, qPrintable(QString::number(summary.purity)));
    QVERIFY(dialog.resultView()->toPlainText().contains(QStringLiteral("purity")));
    QVERIFY(dialog.trainButton()->isEnabled());
    // The written corpus opens as three domains.
    souplab::CorpusOptions co;
    co.cache_dir = m_tmp.filePath("cache").toStdString();
    co.min_domain_tokens = 100;
    auto cache = souplab::TokenCache::open(m_tmp.filePath("clustered").toStdString(), co);
    QCOMPARE(int(cache->num_domains()), 3);
    dialog.trainButton()->click();
    QCOMPARE(train.count(), 1);
    QCOMPARE(train.at(0).at(0).toString(), m_tmp.filePath("clustered"));
  }

  void missingFolderIsAnErrorNamingIt() {
    ClusterDialog dialog;
    const QString missing = m_tmp.filePath("no_such_folder");
    dialog.rawEdit()->setText(missing);
    dialog.outEdit()->setText(m_tmp.filePath("out2"));
    QSignalSpy failed(dialog.worker(), &ClusterWorker::failed);
    dialog.clusterButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
    QVERIFY(failed.at(0).at(0).toString().contains(missing));
    QVERIFY(dialog.clusterButton()->isEnabled());
    QVERIFY(!dialog.trainButton()->isEnabled());
  }
};

QTEST_MAIN(TestClusterDialog)
#include "test_cluster_dialog.moc"
