#include "ui/training/new_run_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QThread>

#include "app/glue/estimate_worker.h"
#include "app/glue/quick_start.h"
#include "souplab/error.h"
#include "souplab/param_layout.h"
#include "souplab/device.h"
#include "souplab/presets.h"

namespace souplab::gui {

namespace {
QSpinBox* spin(int lo, int hi, int value, QWidget* parent) {
  auto* box = new QSpinBox(parent);
  box->setRange(lo, hi);
  box->setValue(value);
  return box;
}
}  // namespace

NewRunDialog::NewRunDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("New training run"));
  const RunConfig defaults;
  QSettings settings;
  settings.beginGroup(QStringLiteral("newRun"));

  m_name = new QLineEdit(this);
  m_name->setPlaceholderText(tr("default: kind and time"));
  m_corpus = new QLineEdit(settings.value("corpus", demoCorpusDir()).toString(), this);
  auto* browse = new QPushButton(tr("Browse…"), this);
  auto* demo = new QPushButton(tr("Demo corpus"), this);
  demo->setToolTip(tr("Built into %1 on first use").arg(demoCorpusDir()));
  auto* corpusRow = new QHBoxLayout;
  corpusRow->addWidget(m_corpus, 1);
  corpusRow->addWidget(browse);
  corpusRow->addWidget(demo);

  m_kind = new QComboBox(this);
  m_kind->addItem(tr("Soup of experts"), int(ModelKind::kSoup));
  m_kind->addItem(tr("Dense baseline"), int(ModelKind::kDense));
  m_kind->addItem(tr("Sparse mixture of experts (MoE)"), int(ModelKind::kMoe));
  // Remembered by its name, as run configs write it.
  const auto remembered = parse_model_kind(settings.value("kind").toString().toStdString());
  m_kind->setCurrentIndex(std::max(0, m_kind->findData(int(remembered.value_or(ModelKind::kSoup)))));
  m_layers = spin(1, 48, settings.value("n_layer", defaults.model.n_layer).toInt(), this);
  m_embd = spin(8, 4096, settings.value("n_embd", defaults.model.n_embd).toInt(), this);
  m_embd->setSingleStep(32);
  m_heads = spin(1, 64, settings.value("n_head", defaults.model.n_head).toInt(), this);
  m_block = spin(8, 4096, settings.value("block_size", defaults.model.block_size).toInt(), this);
  m_experts = spin(1, 512, settings.value("n_experts", defaults.bank.n_experts).toInt(), this);
  m_topK = new QComboBox(this);
  m_topK->addItem(tr("2 (GShard)"), 2);
  m_topK->addItem(tr("1 (Switch)"), 1);
  m_topK->setCurrentIndex(settings.value("moe_top_k", defaults.moe.top_k).toInt() == 1 ? 1 : 0);
  m_steps = spin(1, 10'000'000, settings.value("steps", int(defaults.train.steps)).toInt(), this);
  m_batch = spin(1, 4096, settings.value("batch", defaults.train.batch_size).toInt(), this);
  m_evalInterval =
      spin(1, 1'000'000, settings.value("eval_interval", int(defaults.train.eval_interval)).toInt(),
           this);
  m_lr = new QDoubleSpinBox(this);
  m_lr->setDecimals(6);
  m_lr->setRange(1e-6, 1.0);
  m_lr->setSingleStep(1e-4);
  m_lr->setValue(settings.value("lr", defaults.train.lr).toDouble());
  m_device = new QComboBox(this);
  // auto, then every device found; "cuda" alone lets several ranks take one GPU each.
  m_device->addItem(tr("auto"), QStringLiteral("auto"));
  if (souplab::cuda_available()) m_device->addItem(tr("CUDA (rank i on cuda:i)"), QStringLiteral("cuda"));
  for (const std::string& d : souplab::available_devices())
    m_device->addItem(QString::fromStdString(d), QString::fromStdString(d));
  // Local data-parallel ranks (one per GPU on a multi-GPU machine; on the CPU each takes
  // cores / ranks threads): the batch stays the whole step's, split between them.
  m_processes = spin(1, std::max(2, QThread::idealThreadCount()), 1, this);
  m_processes->setToolTip(tr("Data-parallel ranks on this machine: each trains its share of every batch "
                             "and they sum their gradients (the same run as one process)"));
  m_shardBank = new QCheckBox(tr("Shard the bank (each rank holds 1/ranks of S, E and their optimiser state)"), this);
  // The honest comparison for a soup: a dense model of the same size, steps, batch and seed.
  m_denseAfter = new QCheckBox(tr("Then train a dense baseline with the same budget (as long again)"), this);
  m_denseAfter->setObjectName(QStringLiteral("denseAfterCheck"));
  m_denseAfter->setToolTip(tr("When the soup finishes, a plain dense model of the same size, steps, batch and "
                              "seed trains on the uniform mixture; the explorer compares the specialists "
                              "with it"));
  m_denseAfter->setChecked(QSettings().value(QStringLiteral("newRun/dense_after"), false).toBool());
  m_summary = new QLabel(this);
  m_summary->setWordWrap(true);
  // Presets: a size and budget per kind of machine; choosing one fills the fields below.
  m_preset = new QComboBox(this);
  m_preset->setObjectName(QStringLiteral("presetCombo"));
  m_preset->addItem(tr("Custom (the fields below)"), QString());
  for (const Preset& p : presets())
    m_preset->addItem(QString::fromStdString(p.title), QString::fromStdString(p.name));
  m_preset->setToolTip(tr("Fills the size, steps, batch and device for a kind of machine; shows what it costs here"));
  m_estimate = new QLabel(this);
  m_estimate->setObjectName(QStringLiteral("estimateLabel"));
  m_estimate->setWordWrap(true);
  m_estimateButton = new QPushButton(tr("Estimate time here"), this);
  m_estimateButton->setToolTip(tr("Trains a few steps of this configuration on this machine (a few seconds) to "
                                  "measure its speed; a GPU run where no GPU is gets the roofline estimate"));
  m_estimator = new EstimateWorker(this);

  auto* form = new QFormLayout;
  form->addRow(tr("Preset"), m_preset);
  form->addRow(tr("Name"), m_name);
  form->addRow(tr("Corpus folder"), corpusRow);
  form->addRow(tr("Kind"), m_kind);
  form->addRow(tr("Layers"), m_layers);
  form->addRow(tr("Width (n_embd)"), m_embd);
  form->addRow(tr("Heads"), m_heads);
  form->addRow(tr("Context (block_size)"), m_block);
  form->addRow(tr("Experts (n; E per MoE block)"), m_experts);
  form->addRow(tr("MoE experts per token"), m_topK);
  form->addRow(tr("Steps"), m_steps);
  form->addRow(tr("Learning rate"), m_lr);
  form->addRow(tr("Batch (sequences)"), m_batch);
  form->addRow(tr("Validate every"), m_evalInterval);
  form->addRow(tr("Device"), m_device);
  form->addRow(tr("Processes"), m_processes);
  form->addRow(QString(), m_shardBank);
  form->addRow(QString(), m_denseAfter);
  form->addRow(QString(), m_summary);
  auto* estimateRow = new QHBoxLayout;
  estimateRow->addWidget(m_estimate, 1);
  estimateRow->addWidget(m_estimateButton);
  form->addRow(tr("Cost here"), estimateRow);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Start training"));
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);

  connect(browse, &QPushButton::clicked, this, &NewRunDialog::browseCorpus);
  connect(demo, &QPushButton::clicked, this, [this] { m_corpus->setText(demoCorpusDir()); });
  connect(buttons, &QDialogButtonBox::accepted, this, &NewRunDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_kind, &QComboBox::currentIndexChanged, this, &NewRunDialog::updateSummary);
  connect(m_topK, &QComboBox::currentIndexChanged, this, &NewRunDialog::updateSummary);
  for (QSpinBox* box : {m_layers, m_embd, m_heads, m_block, m_experts, m_steps, m_batch, m_processes})
    connect(box, &QSpinBox::valueChanged, this, &NewRunDialog::updateSummary);
  connect(m_preset, qOverload<int>(&QComboBox::activated), this,
          [this] { choosePreset(m_preset->currentData().toString()); });
  connect(m_estimateButton, &QPushButton::clicked, this, &NewRunDialog::estimateTime);
  connect(m_estimator, &EstimateWorker::estimated, this, [this](const QString& line) {
    m_estimate->setText(line);
    m_estimateButton->setEnabled(true);
  });
  connect(m_estimator, &EstimateWorker::failed, this, [this](const QString& message) {
    m_estimate->setText(tr("Cannot estimate: %1").arg(message));
    m_estimateButton->setEnabled(true);
  });
  updateSummary();
}

bool NewRunDialog::choosePreset(const QString& name) {
  if (name.isEmpty()) return false;
  const Preset* preset = nullptr;
  for (const Preset& p : presets())
    if (QString::fromStdString(p.name) == name) preset = &p;
  if (!preset) return false;
  m_preset->setCurrentIndex(m_preset->findData(name));
  m_fillingPreset = true;
  m_layers->setValue(preset->n_layer);
  m_embd->setValue(preset->n_embd);
  m_heads->setValue(preset->n_head);
  m_block->setValue(preset->block_size);
  m_experts->setValue(preset->n_experts);
  m_steps->setValue(int(preset->steps));
  m_batch->setValue(preset->batch_size);
  const int device = m_device->findData(QString::fromStdString(preset->device));
  if (device >= 0) m_device->setCurrentIndex(device);
  m_fillingPreset = false;
  m_summary->setToolTip(QString::fromStdString(preset->sized_by));
  estimateTime();
  return true;
}

QString NewRunDialog::estimateText() const { return m_estimate->text(); }

void NewRunDialog::estimateTime() {
  RunConfig c = request().config;
  const QString preset = m_preset->currentData().toString();
  if (!preset.isEmpty()) {
    // A GPU preset keeps its device and precision even where this machine has no GPU: the
    // estimate is then the roofline's, and says so.
    for (const Preset& p : presets())
      if (QString::fromStdString(p.name) == preset && p.device == "cuda" && m_device->findData("cuda") < 0) {
        c.train.device = p.device;
        c.train.precision = p.precision;
      }
  }
  m_estimate->setText(tr("Measuring a few steps here…"));
  m_estimateButton->setEnabled(false);
  m_estimator->estimate(c, 14);
}

void NewRunDialog::setCorpusDir(const QString& dir) { m_corpus->setText(dir); }

void NewRunDialog::browseCorpus() {
  const QString dir = QFileDialog::getExistingDirectory(
      this, tr("Corpus folder (one sub-folder of text files per domain)"), m_corpus->text());
  if (!dir.isEmpty()) m_corpus->setText(dir);
}

TrainRequest NewRunDialog::request() const {
  TrainRequest r;
  RunConfig& c = r.config;
  c.model.n_layer = m_layers->value();
  c.model.n_embd = m_embd->value();
  c.model.n_head = m_heads->value();
  c.model.block_size = m_block->value();
  const auto kind = ModelKind(m_kind->currentData().toInt());
  c.bank.n_experts = kind == ModelKind::kSoup ? m_experts->value() : 0;
  c.train.kind = kind;
  if (kind == ModelKind::kMoe) {
    c.moe.n_experts = m_experts->value();
    c.moe.top_k = m_topK->currentData().toInt();
  }
  c.train.corpus_dir = QDir::cleanPath(m_corpus->text().trimmed()).toStdString();
  c.train.run_name = m_name->text().trimmed().toStdString();
  c.train.steps = m_steps->value();
  c.train.lr = m_lr->value();
  c.train.batch_size = m_batch->value();
  c.train.eval_interval = m_evalInterval->value();
  c.train.checkpoint_interval = std::max<int64_t>(c.train.eval_interval, 50);
  c.train.warmup_steps = std::min<int64_t>(c.train.warmup_steps, c.train.steps / 10);
  c.train.device = m_device->currentData().toString().toStdString();
  r.processes = m_processes->value();
  r.shardBank = r.processes > 1 && kind == ModelKind::kSoup && m_shardBank->isChecked();
  r.buildDemoCorpus = QDir::cleanPath(m_corpus->text().trimmed()) == QDir::cleanPath(demoCorpusDir());
  r.thenDenseBaseline = kind == ModelKind::kSoup && m_denseAfter->isChecked();
  return r;
}

void NewRunDialog::updateSummary() {
  const TrainRequest r = request();
  // A field changed by hand makes the run a custom one; the last estimate no longer applies.
  if (!m_fillingPreset && m_preset && m_preset->currentIndex() > 0) {
    m_preset->setCurrentIndex(0);
    m_estimate->clear();
  }
  m_experts->setEnabled(r.config.train.kind != ModelKind::kDense);
  m_topK->setEnabled(r.config.train.kind == ModelKind::kMoe);
  m_shardBank->setEnabled(r.processes > 1 && r.config.train.kind == ModelKind::kSoup);
  m_denseAfter->setEnabled(r.config.train.kind == ModelKind::kSoup);
  try {
    // Domain count is unknown until the corpus is read; 8 only sizes the small coef MLP.
    const ParamCounts counts = param_counts(r.config, 8);
    const QString tokens = QLocale().toString(r.config.train.batch_size * r.config.model.block_size);
    if (r.config.train.kind == ModelKind::kMoe)
      m_summary->setText(tr("%1 parameters in total (all experts ship); %2 active per token; "
                            "%3 tokens per step")
                             .arg(QLocale().toString(qlonglong(counts.total)),
                                  QLocale().toString(qlonglong(counts.active)), tokens));
    else
      m_summary->setText(tr("%1 parameters per instantiated model; %2 trained in total; "
                            "%3 tokens per step")
                             .arg(QLocale().toString(qlonglong(counts.instantiated)),
                                  QLocale().toString(qlonglong(counts.total)), tokens));
  } catch (const std::exception& e) {
    m_summary->setText(QString::fromStdString(e.what()));
  }
}

void NewRunDialog::accept() {
  const TrainRequest r = request();
  try {
    RunConfig c = r.config;
    c.bank.n_domains = 0;
    validate(c);
  } catch (const std::exception& e) {
    QMessageBox::warning(this, tr("Invalid configuration"), QString::fromStdString(e.what()));
    return;
  }
  if (r.config.train.batch_size % r.processes != 0) {  // each rank takes batch / processes rows
    QMessageBox::warning(this, tr("Processes"),
                         tr("The batch (%1 sequences) does not split evenly over %2 processes.")
                             .arg(r.config.train.batch_size).arg(r.processes));
    return;
  }
  if (!r.buildDemoCorpus && !QDir(m_corpus->text()).exists()) {
    QMessageBox::warning(this, tr("Corpus folder"),
                         tr("%1 does not exist. Pick a folder holding one sub-folder of text "
                            "files per domain.").arg(m_corpus->text()));
    return;
  }
  QSettings settings;
  settings.beginGroup(QStringLiteral("newRun"));
  settings.setValue("corpus", m_corpus->text());
  settings.setValue("kind", QString::fromUtf8(model_kind_name(ModelKind(m_kind->currentData().toInt()))));
  settings.setValue("n_layer", m_layers->value());
  settings.setValue("n_embd", m_embd->value());
  settings.setValue("n_head", m_heads->value());
  settings.setValue("block_size", m_block->value());
  settings.setValue("n_experts", m_experts->value());
  settings.setValue("moe_top_k", m_topK->currentData());
  settings.setValue("steps", m_steps->value());
  settings.setValue("batch", m_batch->value());
  settings.setValue("eval_interval", m_evalInterval->value());
  settings.setValue("lr", m_lr->value());
  settings.setValue("dense_after", m_denseAfter->isChecked());
  QDialog::accept();
}

}  // namespace souplab::gui
