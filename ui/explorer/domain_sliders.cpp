#include "ui/explorer/domain_sliders.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalBlocker>
#include <QSlider>
#include <QStyle>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>

#include "souplab/domain_weights.h"
#include "ui/explorer/weights_undo_command.h"

namespace souplab::gui {

namespace {
// Preset combo entries: data = kind, plus the domain index for one-hot.
enum PresetKind { kPresetNone, kPresetUniform, kPresetTraining, kPresetOneHot };
}  // namespace

DomainSliders::DomainSliders(QWidget* parent) : QWidget(parent), m_undo(new QUndoStack(this)) {
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);

  auto* top = new QHBoxLayout;
  m_presets = new QComboBox(this);
  m_presets->setObjectName(QStringLiteral("presetCombo"));
  m_presets->setToolTip(tr("Set h to a preset"));
  // "Only <domain>" items for long names must not set the panel's width.
  m_presets->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_presets->setMinimumContentsLength(12);
  connect(m_presets, qOverload<int>(&QComboBox::activated), this, &DomainSliders::onPresetChosen);
  top->addWidget(m_presets, 1);

  // Undo/redo as actions on this widget so Ctrl+Z works while a slider has focus, without
  // fighting the main window's own shortcuts elsewhere.
  QAction* undo = m_undo->createUndoAction(this, tr("Undo"));
  undo->setShortcut(QKeySequence::Undo);
  undo->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  QAction* redo = m_undo->createRedoAction(this, tr("Redo"));
  redo->setShortcut(QKeySequence::Redo);
  redo->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  addAction(undo);
  addAction(redo);
  undo->setIcon(QIcon::fromTheme(QStringLiteral("edit-undo"), style()->standardIcon(QStyle::SP_ArrowBack)));
  redo->setIcon(QIcon::fromTheme(QStringLiteral("edit-redo"), style()->standardIcon(QStyle::SP_ArrowForward)));
  for (QAction* action : {undo, redo}) {
    auto* button = new QToolButton(this);
    button->setDefaultAction(action);
    // Icons: the actions' text names the step ("Undo Set h to name=0.3,…") and would set the
    // panel's width; it shows as the tooltip.
    button->setToolButtonStyle(Qt::ToolButtonIconOnly);
    top->addWidget(button);
  }
  outer->addLayout(top);

  auto* filterRow = new QHBoxLayout;
  m_filter = new QLineEdit(this);
  m_filter->setObjectName(QStringLiteral("domainFilter"));
  m_filter->setPlaceholderText(tr("Filter domains…"));
  m_filter->setClearButtonEnabled(true);
  m_filter->setToolTip(tr("Show the domains whose name contains this text (here and in the chart)"));
  m_nonZero = new QCheckBox(tr("only non-zero"), this);
  m_nonZero->setObjectName(QStringLiteral("nonZeroFilter"));
  m_nonZero->setToolTip(tr("Show only the domains with a weight above 0 in h"));
  connect(m_filter, &QLineEdit::textChanged, this, &DomainSliders::applyFilter);
  connect(m_nonZero, &QCheckBox::toggled, this, &DomainSliders::applyFilter);
  filterRow->addWidget(m_filter, 1);
  filterRow->addWidget(m_nonZero);
  outer->addLayout(filterRow);

  m_rowsHost = new QWidget;
  m_grid = new QGridLayout(m_rowsHost);
  m_grid->setColumnStretch(1, 1);
  m_scroll = new QScrollArea(this);
  m_scroll->setWidget(m_rowsHost);
  m_scroll->setWidgetResizable(true);
  m_scroll->setFrameShape(QFrame::NoFrame);
  // Many domains scroll vertically; rows never scroll sideways (the panel is as wide as a row).
  m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  outer->addWidget(m_scroll, 1);

  m_text = new QLineEdit(this);
  m_text->setObjectName(QStringLiteral("weightsEdit"));
  m_text->setPlaceholderText(tr("name=0.3,other=0.7 · uniform · onehot:name"));
  m_text->setToolTip(tr("Type exact domain weights and press Enter (they are normalised)"));
  connect(m_text, &QLineEdit::returnPressed, this, [this] { applyText(m_text->text()); });
  outer->addWidget(m_text);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("weightsStatus"));
  m_status->setWordWrap(true);
  m_status->setStyleSheet(QStringLiteral("color: #b00020"));
  m_status->hide();
  outer->addWidget(m_status);
}

void DomainSliders::setDomains(const QStringList& names, const std::vector<double>& trainingMixture) {
  m_names = names;
  m_trainingMixture = size_t(names.size()) == trainingMixture.size() ? trainingMixture
                                                                       : std::vector<double>{};
  m_model = SimplexWeights(size_t(names.size()));
  m_undo->clear();
  ++m_gesture;
  m_lastError.clear();
  m_status->hide();

  m_presets->clear();
  m_presets->addItem(tr("Preset…"), kPresetNone);
  m_presets->addItem(tr("Uniform"), kPresetUniform);
  if (!m_trainingMixture.empty()) m_presets->addItem(tr("Training mixture"), kPresetTraining);
  for (int i = 0; i < names.size(); ++i)
    m_presets->addItem(tr("Only %1").arg(names[i]), QVariant::fromValue(kPresetOneHot + i));
  m_presets->setEnabled(!names.isEmpty());
  m_text->setEnabled(!names.isEmpty());

  buildRows();
  refresh();
  m_visible.clear();
  applyFilter();
  Q_EMIT weightsChanged(m_model.weights());
}

void DomainSliders::buildRows() {
  for (Row& row : m_rows) {
    delete row.name;
    delete row.slider;
    delete row.spin;
    delete row.lock;
  }
  m_rows.clear();
  for (int r = 0; r < m_grid->rowCount(); ++r) m_grid->setRowStretch(r, 0);
  for (int i = 0; i < m_names.size(); ++i) {
    Row row;
    row.name = new QLabel(m_names[i], m_rowsHost);
    // Long cluster names elide instead of widening the panel; the tooltip has the whole name.
    row.name->setMaximumWidth(150);
    row.slider = new QSlider(Qt::Horizontal, m_rowsHost);
    row.slider->setObjectName(QStringLiteral("slider_%1").arg(i));
    row.slider->setRange(0, kSliderSteps);
    row.slider->setPageStep(kSliderSteps / 20);
    row.slider->setMinimumWidth(70);
    row.spin = new QDoubleSpinBox(m_rowsHost);
    row.spin->setObjectName(QStringLiteral("spin_%1").arg(i));
    row.spin->setRange(0, 100);
    row.spin->setDecimals(1);
    row.spin->setSuffix(QStringLiteral(" %"));
    // Only a finished edit (Enter, focus out, arrows) moves h: "3" on the way to "35" must not.
    row.spin->setKeyboardTracking(false);
    row.lock = new QCheckBox(tr("lock"), m_rowsHost);
    row.lock->setObjectName(QStringLiteral("lock_%1").arg(i));
    row.lock->setToolTip(tr("Keep this weight while the others move"));
    m_grid->addWidget(row.name, i, 0);
    m_grid->addWidget(row.slider, i, 1);
    m_grid->addWidget(row.spin, i, 2);
    m_grid->addWidget(row.lock, i, 3);

    connect(row.slider, &QSlider::valueChanged, this,
            [this, i](int value) { moveSlider(i, double(value) / kSliderSteps); });
    connect(row.slider, &QSlider::sliderPressed, this, &DomainSliders::endGesture);
    connect(row.slider, &QSlider::sliderReleased, this, &DomainSliders::endGesture);
    connect(row.slider, &QSlider::sliderReleased, this, [this] {
      if (m_nonZero->isChecked()) applyFilter();  // a row dragged to 0 leaves the view now
    });
    connect(row.spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this, i](double v) {
      endGesture();  // a typed value is its own undo step
      moveSlider(i, v / 100.0);
      endGesture();
    });
    connect(row.lock, &QCheckBox::toggled, this, [this, i](bool on) { setLocked(i, on); });
    m_rows.push_back(row);
  }
  m_grid->setRowStretch(m_names.size(), 1);
  // The panel is at least as wide as a whole row (name, slider, % box, lock) plus the scroll bar,
  // so a splitter or a small window cannot squeeze the % boxes out of view; measured from the
  // widgets' own hints, which exist before the rows are laid out.
  int nameWidth = 0;
  for (const Row& row : m_rows) nameWidth = std::max(nameWidth, std::min(150, row.name->sizeHint().width()));
  if (!m_rows.empty()) {
    const Row& r = m_rows.front();
    const int spacing = m_grid->horizontalSpacing() > 0 ? m_grid->horizontalSpacing() : 6;
    const QMargins margins = m_grid->contentsMargins();
    const int rowWidth = nameWidth + r.slider->minimumWidth() + r.spin->sizeHint().width() +
                         r.lock->sizeHint().width() + 3 * spacing + margins.left() + margins.right();
    m_scroll->setMinimumWidth(rowWidth + m_scroll->verticalScrollBar()->sizeHint().width() + 2);
  }
}

void DomainSliders::setFilter(const QString& text, bool onlyNonZero) {
  QSignalBlocker b1(m_filter), b2(m_nonZero);
  m_filter->setText(text);
  m_nonZero->setChecked(onlyNonZero);
  applyFilter();
}

void DomainSliders::applyFilter() {
  const QString needle = m_filter->text().trimmed();
  const bool nonZero = m_nonZero->isChecked();
  std::vector<int> visible;
  for (int i = 0; i < int(m_rows.size()); ++i) {
    const bool show = (needle.isEmpty() || m_names[i].contains(needle, Qt::CaseInsensitive)) &&
                      (!nonZero || m_model.weight(size_t(i)) > 0 ||
                       m_rows[size_t(i)].slider->isSliderDown());  // never pull a row from under a drag
    for (QWidget* w : std::initializer_list<QWidget*>{m_rows[size_t(i)].name, m_rows[size_t(i)].slider,
                                                      m_rows[size_t(i)].spin, m_rows[size_t(i)].lock})
      w->setVisible(show);
    if (show) visible.push_back(i);
  }
  if (visible == m_visible) return;
  m_visible = visible;
  Q_EMIT visibleDomainsChanged(m_visible);
}

QCheckBox* DomainSliders::lockBox(int index) const {
  return index >= 0 && size_t(index) < m_rows.size() ? m_rows[size_t(index)].lock : nullptr;
}

QSlider* DomainSliders::slider(int index) const {
  return index >= 0 && size_t(index) < m_rows.size() ? m_rows[size_t(index)].slider : nullptr;
}

void DomainSliders::moveSlider(int index, double weight) {
  if (index < 0 || size_t(index) >= m_model.size() || m_model.isLocked(size_t(index))) return;
  SimplexWeights next = m_model;
  next.setWeight(size_t(index), weight);
  if (next.weights() == m_model.weights()) {
    refresh();  // clamped at its bound: snap the handle back to where h really is
    return;
  }
  pushChange(next.weights(), index, tr("Move %1").arg(m_names[index]));
}

void DomainSliders::setLocked(int index, bool locked) {
  if (index < 0 || size_t(index) >= m_model.size()) return;
  m_model.setLocked(size_t(index), locked);
  endGesture();
  refresh();
}

void DomainSliders::applyUniform() {
  if (m_model.size() == 0) return;
  SimplexWeights next = m_model;
  next.setUniform();
  pushChange(next.weights(), -1, tr("Uniform h"));
}

void DomainSliders::applyOneHot(int index) {
  if (index < 0 || size_t(index) >= m_model.size()) return;
  SimplexWeights next = m_model;
  next.setOneHot(size_t(index));
  pushChange(next.weights(), -1, tr("Only %1").arg(m_names[index]));
}

void DomainSliders::applyTrainingMixture() {
  if (m_trainingMixture.empty()) return;
  applyWeights(m_trainingMixture, tr("Training mixture"));
}

void DomainSliders::applyWeights(const std::vector<double>& h, const QString& description) {
  try {
    SimplexWeights next = m_model;
    next.setWeights(h);
    pushChange(next.weights(), -1, description);
  } catch (const std::exception& e) {
    showError(QString::fromUtf8(e.what()));
  }
}

bool DomainSliders::applyText(const QString& text) {
  std::vector<std::string> names;
  for (const QString& n : m_names) names.push_back(n.toStdString());
  try {
    std::vector<double> h = parse_domain_weights(text.toStdString(), names);
    m_lastError.clear();
    m_status->hide();
    pushChange(h, -1, tr("Set h to %1").arg(text.trimmed()));
    return true;
  } catch (const std::exception& e) {
    showError(QString::fromUtf8(e.what()));
    return false;
  }
}

void DomainSliders::onPresetChosen(int comboIndex) {
  const int kind = m_presets->itemData(comboIndex).toInt();
  if (kind == kPresetUniform) applyUniform();
  else if (kind == kPresetTraining) applyTrainingMixture();
  else if (kind >= kPresetOneHot) applyOneHot(kind - kPresetOneHot);
  QSignalBlocker block(m_presets);
  m_presets->setCurrentIndex(0);  // a menu of actions, not a state
}

void DomainSliders::pushChange(const std::vector<double>& after, int slider, const QString& text) {
  if (after == m_model.weights()) return;
  if (slider < 0) endGesture();
  // push() runs redo(), which applies `after` and emits weightsChanged.
  m_undo->push(new WeightsUndoCommand([this](const std::vector<double>& h) { applyExact(h); },
                                      m_model.weights(), after, slider, m_gesture, text));
}

void DomainSliders::applyExact(const std::vector<double>& h) {
  m_model.setWeights(h);
  refresh();
  if (m_nonZero->isChecked()) applyFilter();  // a weight that became 0 (or left 0) changes the view
  Q_EMIT weightsChanged(m_model.weights());
}

void DomainSliders::refresh() {
  for (size_t i = 0; i < m_rows.size(); ++i) {
    const Row& row = m_rows[i];
    const double w = m_model.weight(i);
    QSignalBlocker b1(row.slider), b2(row.spin), b3(row.lock);
    row.slider->setValue(int(std::lround(w * kSliderSteps)));
    row.spin->setValue(w * 100.0);
    row.lock->setChecked(m_model.isLocked(i));
    row.slider->setEnabled(!m_model.isLocked(i));
    row.spin->setEnabled(!m_model.isLocked(i));
    row.name->setToolTip(tr("%1: %2 %").arg(m_names[int(i)]).arg(w * 100.0, 0, 'f', 3));
  }
}

void DomainSliders::showError(const QString& message) {
  m_lastError = message;
  m_status->setText(message);
  m_status->show();
}

}  // namespace souplab::gui
