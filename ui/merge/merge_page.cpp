#include "ui/merge/merge_page.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMetaObject>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/explorer/loss_chart.h"
#include "ui/qcustomplot_include.h"

namespace souplab::gui {
namespace {

const souplab::MergeMethod kMethods[] = {souplab::MergeMethod::kLinear, souplab::MergeMethod::kTaskArithmetic,
                                         souplab::MergeMethod::kTies, souplab::MergeMethod::kDare,
                                         souplab::MergeMethod::kDareTies};

QString methodTitle(souplab::MergeMethod m) {
  switch (m) {
    case souplab::MergeMethod::kLinear: return QObject::tr("Linear (weighted average)");
    case souplab::MergeMethod::kTaskArithmetic: return QObject::tr("Task arithmetic");
    case souplab::MergeMethod::kTies: return QObject::tr("TIES");
    case souplab::MergeMethod::kDare: return QObject::tr("DARE (linear)");
    case souplab::MergeMethod::kDareTies: return QObject::tr("DARE-TIES");
  }
  return {};
}

const std::vector<double> kNoLosses;

}  // namespace

MergePage::MergePage(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);

  // --- inputs: one row per model (name, soup h, weight slider + exact value, remove)
  auto* inputs = new QGroupBox(tr("Models to merge"), this);
  auto* inputsLayout = new QVBoxLayout(inputs);
  auto* rowsHost = new QWidget(inputs);
  m_grid = new QGridLayout(rowsHost);
  m_grid->setContentsMargins(0, 0, 0, 0);
  inputsLayout->addWidget(rowsHost);
  auto* addRow = new QHBoxLayout;
  auto* addModel = new QPushButton(tr("Add model…"), inputs);
  addModel->setToolTip(tr("An exported specialist (model.safetensors) or a checkpoint (.ckpt)"));
  addRow->addWidget(addModel);
  addRow->addStretch(1);
  inputsLayout->addLayout(addRow);
  auto* baseRow = new QHBoxLayout;
  baseRow->addWidget(new QLabel(tr("Base:"), inputs));
  m_baseName = new QLabel(tr("(none)"), inputs);
  baseRow->addWidget(m_baseName, 1);
  m_baseH = new QLineEdit(inputs);
  m_baseH->setPlaceholderText(tr("h for a soup base (default uniform)"));
  baseRow->addWidget(m_baseH);
  auto* chooseBase = new QPushButton(tr("Choose base…"), inputs);
  auto* clearBase = new QPushButton(tr("Clear"), inputs);
  baseRow->addWidget(chooseBase);
  baseRow->addWidget(clearBase);
  inputsLayout->addLayout(baseRow);
  layout->addWidget(inputs);

  // --- method and its parameters
  auto* methodBox = new QGroupBox(tr("Method"), this);
  auto* form = new QHBoxLayout(methodBox);
  m_method = new QComboBox(methodBox);
  for (auto m : kMethods) m_method->addItem(methodTitle(m), int(m));
  form->addWidget(m_method);
  form->addWidget(new QLabel(tr("λ"), methodBox));
  m_lambda = new QDoubleSpinBox(methodBox);
  m_lambda->setRange(-4, 4);
  m_lambda->setSingleStep(0.05);
  m_lambda->setValue(1.0);
  m_lambda->setToolTip(tr("Scale of the merged task vector added to the base"));
  form->addWidget(m_lambda);
  form->addWidget(new QLabel(tr("density"), methodBox));
  m_density = new QDoubleSpinBox(methodBox);
  m_density->setRange(0.01, 1.0);
  m_density->setSingleStep(0.05);
  m_density->setValue(0.5);
  m_density->setToolTip(tr("Fraction of each task vector kept (TIES: largest magnitudes; DARE: at random)"));
  form->addWidget(m_density);
  form->addWidget(new QLabel(tr("seed"), methodBox));
  m_seed = new QSpinBox(methodBox);
  m_seed->setRange(0, 1 << 30);
  m_seed->setToolTip(tr("Seed of DARE's random drop mask"));
  form->addWidget(m_seed);
  form->addStretch(1);
  layout->addWidget(methodBox);

  // --- result
  auto* compareRow = new QHBoxLayout;
  compareRow->addWidget(new QLabel(tr("Compare the merge with:"), this));
  m_compare = new QComboBox(this);
  compareRow->addWidget(m_compare, 1);
  m_export = new QPushButton(tr("Export…"), this);
  m_export->setEnabled(false);
  compareRow->addWidget(m_export);
  layout->addLayout(compareRow);
  m_chart = new LossChart(this);
  m_chart->specialistBars()->setName(tr("merged model"));
  layout->addWidget(m_chart, 1);
  m_status = new QLabel(tr("Add two or more models (and a base for every method but linear)."), this);
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_status);

  // --- the worker, on its own thread since construction (m_worker)
  connect(m_worker.get(), &MergeWorker::inputsLoaded, this, &MergePage::onInputsLoaded);
  connect(m_worker.get(), &MergeWorker::inputLosses, this, [this](int index, const std::vector<double>& losses) {
    if (index < 0) m_baseLosses = losses;
    else if (size_t(index) < m_inputLosses.size()) m_inputLosses[size_t(index)] = losses;
    updateReference();
  });
  connect(m_worker.get(), &MergeWorker::mergeReady, this, &MergePage::onMergeReady);
  connect(m_worker.get(), &MergeWorker::errorOccurred, this, [this](const QString& message) {
    m_status->setText(message);
    Q_EMIT errorOccurred(message);
  });
  connect(m_worker.get(), &MergeWorker::exportFinished, this,
          [this](const QString& dir, const QStringList& files, const QStringList& notes) {
            m_export->setEnabled(true);
            m_status->setText(tr("Exported %1 (%2)%3").arg(dir, files.join(QStringLiteral(", ")),
                                                           notes.isEmpty() ? QString() : " — " + notes.join("; ")));
            Q_EMIT exportFinished(dir, files, notes);
          });
  connect(m_worker.get(), &MergeWorker::exportFailed, this, [this](const QString& dir, const QString& message) {
    m_export->setEnabled(true);
    m_status->setText(tr("Export failed: %1").arg(message));
    Q_EMIT exportFailed(dir, message);
  });

  connect(addModel, &QPushButton::clicked, this, &MergePage::addModelDialog);
  connect(chooseBase, &QPushButton::clicked, this, &MergePage::chooseBaseDialog);
  connect(clearBase, &QPushButton::clicked, this, [this] {
    m_basePath.clear();
    reload();
  });
  connect(m_baseH, &QLineEdit::editingFinished, this, [this] {
    if (!m_basePath.isEmpty()) reload();
  });
  connect(m_method, &QComboBox::currentIndexChanged, this, [this] {
    updateParameterWidgets();
    requestMerge();
  });
  connect(m_lambda, &QDoubleSpinBox::valueChanged, this, &MergePage::requestMerge);
  connect(m_density, &QDoubleSpinBox::valueChanged, this, &MergePage::requestMerge);
  connect(m_seed, &QSpinBox::valueChanged, this, &MergePage::requestMerge);
  connect(m_compare, &QComboBox::currentIndexChanged, this, &MergePage::updateReference);
  connect(m_export, &QPushButton::clicked, this, &MergePage::exportDialog);
  updateParameterWidgets();
}

MergePage::~MergePage() = default;  // m_worker stops its thread and deletes the worker

const std::vector<double>& MergePage::inputLosses(int index) const {
  if (index < 0) return m_baseLosses;
  return size_t(index) < m_inputLosses.size() ? m_inputLosses[size_t(index)] : kNoLosses;
}

QSlider* MergePage::weightSlider(int index) const {
  return index >= 0 && size_t(index) < m_rows.size() ? m_rows[size_t(index)].slider : nullptr;
}

void MergePage::setInputs(const QStringList& models, const QString& base, const QStringList& soupWeights,
                          const QString& baseWeights) {
  m_basePath = base;
  m_baseH->setText(baseWeights);
  rebuildRows(models, soupWeights);
  reload();
}

void MergePage::setMethod(souplab::MergeMethod method) { m_method->setCurrentIndex(m_method->findData(int(method))); }

void MergePage::setWeight(int index, double weight) {
  if (QSlider* s = weightSlider(index)) s->setValue(int(std::lround(weight / kMaxSliderWeight * kSliderSteps)));
}

MergeSettings MergePage::currentSettings() const {
  MergeSettings s;
  s.params.method = souplab::MergeMethod(m_method->currentData().toInt());
  s.params.lambda = m_lambda->value();
  s.params.density = m_density->value();
  s.params.seed = uint64_t(m_seed->value());
  for (const auto& r : m_rows) s.weights.push_back(r.spin->value());
  return s;
}

void MergePage::rebuildRows(const QStringList& paths, const QStringList& soupWeights) {
  for (auto& r : m_rows) {
    delete r.name;
    delete r.h;
    delete r.slider;
    delete r.spin;
    delete r.remove;
  }
  m_rows.clear();
  for (int i = 0; i < paths.size(); ++i) {
    Row r;
    r.path = paths[i];
    r.name = new QLabel(QFileInfo(paths[i]).fileName(), this);
    r.name->setToolTip(paths[i]);
    r.h = new QLineEdit(i < soupWeights.size() ? soupWeights[i] : QString(), this);
    r.h->setPlaceholderText(tr("h for a soup (default uniform)"));
    r.slider = new QSlider(Qt::Horizontal, this);
    r.slider->setRange(0, kSliderSteps);
    r.slider->setValue(kSliderSteps / 2);  // weight 1
    r.spin = new QDoubleSpinBox(this);
    r.spin->setRange(-4, 4);  // task arithmetic may subtract a task vector
    r.spin->setSingleStep(0.05);
    r.spin->setValue(1.0);
    r.remove = new QPushButton(tr("Remove"), this);
    m_grid->addWidget(r.name, i, 0);
    m_grid->addWidget(r.h, i, 1);
    m_grid->addWidget(r.slider, i, 2);
    m_grid->addWidget(r.spin, i, 3);
    m_grid->addWidget(r.remove, i, 4);
    QSlider* slider = r.slider;
    QDoubleSpinBox* spin = r.spin;
    // Slider and spin box mirror each other without echoing; either way one merge request.
    connect(slider, &QSlider::valueChanged, this, [this, spin](int v) {
      const QSignalBlocker block(spin);
      spin->setValue(double(v) * kMaxSliderWeight / kSliderSteps);
      requestMerge();
    });
    connect(spin, &QDoubleSpinBox::valueChanged, this, [this, slider](double v) {
      const QSignalBlocker block(slider);
      slider->setValue(int(std::lround(std::clamp(v, 0.0, kMaxSliderWeight) / kMaxSliderWeight * kSliderSteps)));
      requestMerge();
    });
    connect(r.h, &QLineEdit::editingFinished, this, &MergePage::reload);
    const QString path = paths[i];
    connect(r.remove, &QPushButton::clicked, this, [this, path] {
      QStringList rest, hs;
      for (const auto& row : m_rows)
        if (row.path != path) {
          rest << row.path;
          hs << row.h->text();
        }
      rebuildRows(rest, hs);
      reload();
    });
    m_rows.push_back(r);
  }
}

void MergePage::reload() {
  m_loaded = false;
  m_export->setEnabled(false);
  m_baseName->setText(m_basePath.isEmpty() ? tr("(none)") : QFileInfo(m_basePath).fileName());
  m_baseName->setToolTip(m_basePath);
  QStringList paths, hs;
  for (const auto& r : m_rows) {
    paths << r.path;
    hs << r.h->text().trimmed();
  }
  m_status->setText(tr("Opening %n model(s)…", nullptr, int(paths.size() + (m_basePath.isEmpty() ? 0 : 1))));
  MergeWorker* worker = m_worker.get();
  const QString base = m_basePath, baseH = m_baseH->text().trimmed();
  QMetaObject::invokeMethod(worker, [worker, paths, hs, base, baseH] { worker->loadInputs(paths, hs, base, baseH); },
                            Qt::QueuedConnection);
}

void MergePage::onInputsLoaded(const QStringList& labels, const QString& baseLabel, const QStringList& domains) {
  m_labels = labels;
  m_baseLabel = baseLabel;
  m_domains = domains;
  m_inputLosses.assign(size_t(labels.size()), {});
  m_baseLosses.clear();
  m_mergedLosses.clear();
  m_chart->setDomains(domains);
  {
    const QSignalBlocker block(m_compare);
    m_compare->clear();
    if (!baseLabel.isEmpty()) m_compare->addItem(tr("base: %1").arg(QFileInfo(baseLabel).fileName()), -1);
    for (int i = 0; i < labels.size(); ++i)
      m_compare->addItem(tr("model %1: %2").arg(i + 1).arg(QFileInfo(labels[i]).fileName()), i);
  }
  m_loaded = labels.size() == int(m_rows.size()) && !labels.isEmpty();
  Q_EMIT inputsReady(domains);
  if (m_loaded) requestMerge();
}

void MergePage::updateParameterWidgets() {
  const auto m = souplab::MergeMethod(m_method->currentData().toInt());
  m_lambda->setEnabled(souplab::merge_method_uses_base(m));
  m_density->setEnabled(souplab::merge_method_uses_density(m));
  m_seed->setEnabled(m == souplab::MergeMethod::kDare || m == souplab::MergeMethod::kDareTies);
}

void MergePage::requestMerge() {
  if (!m_loaded) return;
  const MergeSettings s = currentSettings();
  if (souplab::merge_method_uses_base(s.params.method) && m_basePath.isEmpty()) {
    m_status->setText(tr("%1 merges task vectors (model − base): choose a base model.")
                          .arg(methodTitle(s.params.method)));
    return;
  }
  m_worker->requestMerge(s);
}

void MergePage::onMergeReady(quint64 generation, const std::vector<double>& losses, const QString& description,
                             double mergeMs, double evalMs) {
  m_mergedLosses = losses;
  m_description = description;
  m_chart->setSpecialistLosses(losses);
  m_chart->replotNow();
  m_export->setEnabled(true);
  const auto mean = [](const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x / double(v.size());
    return m;
  };
  QString text = tr("Merged in %1 ms").arg(mergeMs, 0, 'f', 0);
  if (!losses.empty()) {
    text += tr(", evaluated in %1 ms; mean loss %2 nats/byte").arg(evalMs, 0, 'f', 0).arg(mean(losses), 0, 'f', 4);
    // Every input's mean next to it, so the merge is compared with all of them at a glance
    // (the bars compare it with one, chosen above, domain by domain).
    QStringList others;
    if (!m_baseLosses.empty()) others << tr("base %1").arg(mean(m_baseLosses), 0, 'f', 4);
    for (size_t i = 0; i < m_inputLosses.size(); ++i)
      if (!m_inputLosses[i].empty()) others << tr("model %1: %2").arg(i + 1).arg(mean(m_inputLosses[i]), 0, 'f', 4);
    if (!others.isEmpty()) text += " (" + others.join(QStringLiteral(", ")) + ")";
  }
  m_status->setText(text + ": " + description);
  Q_EMIT mergeShown(generation, losses);
}

void MergePage::updateReference() {
  const int index = m_compare->currentData().isValid() ? m_compare->currentData().toInt() : 0;
  const auto& losses = inputLosses(index);
  if (losses.empty()) return;
  m_chart->setReferenceLosses(losses, m_compare->currentText());
  m_chart->replotNow();
}

void MergePage::addModelDialog() {
  const QStringList files = QFileDialog::getOpenFileNames(
      this, tr("Add models to merge"), QString(),
      tr("Models (model.safetensors *.safetensors *.ckpt);;All files (*)"));
  if (files.isEmpty()) return;
  QStringList paths, hs;
  for (const auto& r : m_rows) {
    paths << r.path;
    hs << r.h->text();
  }
  paths << files;
  rebuildRows(paths, hs);
  reload();
}

void MergePage::chooseBaseDialog() {
  const QString file = QFileDialog::getOpenFileName(this, tr("Choose the base model"), QString(),
                                                    tr("Models (model.safetensors *.safetensors *.ckpt);;All files (*)"));
  if (file.isEmpty()) return;
  m_basePath = file;
  reload();
}

void MergePage::exportDialog() {
  const QString dir = QFileDialog::getSaveFileName(this, tr("Export the merged model to a new folder"),
                                                   QStringLiteral("merged-model"));
  if (dir.isEmpty()) return;
  exportTo(dir);
}

void MergePage::exportTo(const QString& dir, souplab::ExportFormat format, bool overwrite, const QString& runLogPath) {
  m_export->setEnabled(false);
  m_status->setText(tr("Exporting to %1…").arg(dir));
  MergeWorker* worker = m_worker.get();
  QMetaObject::invokeMethod(
      worker, [worker, dir, format, overwrite, runLogPath] { worker->exportMerged(dir, format, overwrite, runLogPath); },
      Qt::QueuedConnection);
}

}  // namespace souplab::gui
