#include "ui/corpus/cluster_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "souplab/paths.h"

namespace souplab::gui {
namespace {

// A line edit with a "Browse…" button that picks a folder.
QWidget* folderRow(QLineEdit* edit, QWidget* parent, const QString& caption) {
  auto* row = new QWidget(parent);
  auto* lay = new QHBoxLayout(row);
  lay->setContentsMargins(0, 0, 0, 0);
  auto* browse = new QPushButton(QObject::tr("Browse…"), row);
  lay->addWidget(edit, 1);
  lay->addWidget(browse);
  QObject::connect(browse, &QPushButton::clicked, parent, [edit, parent, caption] {
    const QString dir = QFileDialog::getExistingDirectory(parent, caption, edit->text());
    if (!dir.isEmpty()) edit->setText(dir);
  });
  return row;
}

}  // namespace

ClusterDialog::ClusterDialog(QWidget* parent) : QDialog(parent), m_worker(new ClusterWorker(this)) {
  setWindowTitle(tr("New corpus from unlabelled text"));
  QSettings settings;
  m_raw = new QLineEdit(settings.value("cluster/rawDir").toString(), this);
  m_raw->setPlaceholderText(tr("a folder of text files (sub-folders are read too)"));
  m_out = new QLineEdit(this);
  m_out->setPlaceholderText(QString::fromStdString(default_data_dir()) + "/corpora/<name>");
  m_k = new QSpinBox(this);
  m_k->setRange(2, 4096);
  m_k->setValue(settings.value("cluster/k", 8).toInt());
  m_k->setToolTip(tr("Number of domains: the bank will have one slider per domain"));
  m_restarts = new QSpinBox(this);
  m_restarts->setRange(1, 32);
  m_restarts->setValue(4);
  m_overwrite = new QCheckBox(tr("Replace the output folder if it is not empty"), this);
  m_status = new QLabel(tr("Documents are cut or grouped into ~4 KB units, embedded by hashed "
                           "character n-gram TF-IDF and clustered by k-means."), this);
  m_status->setWordWrap(true);
  m_result = new QPlainTextEdit(this);
  m_result->setReadOnly(true);
  m_result->setMinimumHeight(160);
  m_cluster = new QPushButton(tr("&Cluster"), this);
  m_cluster->setDefault(true);
  m_train = new QPushButton(tr("&Train a bank on it…"), this);
  m_train->setEnabled(false);
  auto* close = new QPushButton(tr("Close"), this);

  auto* form = new QFormLayout;
  form->addRow(tr("Raw text folder:"), folderRow(m_raw, this, tr("Folder of unlabelled text")));
  form->addRow(tr("Domains (k):"), m_k);
  form->addRow(tr("k-means restarts:"), m_restarts);
  form->addRow(tr("New corpus folder:"), folderRow(m_out, this, tr("Output corpus folder")));
  form->addRow(QString(), m_overwrite);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_cluster);
  buttons->addWidget(m_train);
  buttons->addStretch(1);
  buttons->addWidget(close);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(form);
  lay->addWidget(m_status);
  lay->addWidget(m_result, 1);
  lay->addLayout(buttons);
  resize(640, 460);

  connect(m_cluster, &QPushButton::clicked, this, &ClusterDialog::startClustering);
  connect(m_train, &QPushButton::clicked, this, [this] {
    Q_EMIT trainRequested(m_written);
    accept();
  });
  connect(close, &QPushButton::clicked, this, &ClusterDialog::reject);
  connect(m_worker, &ClusterWorker::progress, this, [this](const QString& what, int, int) {
    m_status->setText(what);
  });
  connect(m_worker, &ClusterWorker::finished, this, &ClusterDialog::showSummary);
  connect(m_worker, &ClusterWorker::failed, this, [this](const QString& message) {
    m_status->setText(tr("Clustering failed: %1").arg(message));
    m_cluster->setEnabled(true);
  });
}

ClusterDialog::~ClusterDialog() { m_worker->wait(); }

void ClusterDialog::startClustering() {
  const QString raw = m_raw->text().trimmed();
  if (raw.isEmpty()) return m_status->setText(tr("Choose the folder of unlabelled text first."));
  QString out = m_out->text().trimmed();
  if (out.isEmpty()) {
    out = QString::fromStdString(default_data_dir()) + "/corpora/" + QFileInfo(raw).fileName() +
          QStringLiteral("-k%1").arg(m_k->value());
    m_out->setText(out);
  }
  QSettings settings;
  settings.setValue("cluster/rawDir", raw);
  settings.setValue("cluster/k", m_k->value());
  ClusterRequest r;
  r.rawDir = raw;
  r.outDir = out;
  r.k = m_k->value();
  r.restarts = m_restarts->value();
  r.overwrite = m_overwrite->isChecked();
  if (!m_worker->start(r)) return;
  m_cluster->setEnabled(false);
  m_train->setEnabled(false);
  m_result->clear();
  m_status->setText(tr("Reading %1…").arg(raw));
}

void ClusterDialog::showSummary(const ClusterSummary& s) {
  m_written = s.outDir;
  QString text = tr("%1 documents (%2 units, %3 MB) → %4 domains in %5, %6 s\n\n")
                     .arg(s.documents).arg(s.units).arg(double(s.bytes) / 1e6, 0, 'f', 1)
                     .arg(s.clusterLines.size()).arg(s.outDir).arg(s.seconds, 0, 'f', 1);
  text += s.clusterLines.join(QLatin1Char('\n'));
  if (s.purity >= 0)
    text += tr("\n\nAgainst the raw folder's own sub-folders (by bytes): purity %1, inverse purity %2")
                .arg(s.purity, 0, 'f', 3).arg(s.inversePurity, 0, 'f', 3);
  m_result->setPlainText(text);
  m_status->setText(tr("Done. Each folder is a domain; train a bank on the new corpus, or rerun with another k."));
  m_cluster->setEnabled(true);
  m_train->setEnabled(true);
}

void ClusterDialog::reject() {
  if (m_worker->isRunning()) {
    m_status->setText(tr("Clustering is writing the corpus; close when it is done."));
    return;
  }
  QDialog::reject();
}

}  // namespace souplab::gui
