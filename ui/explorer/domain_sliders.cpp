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
#include <QPushButton>
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
#include <limits>
#include <map>

#include "souplab/domain_weights.h"
#include "ui/explorer/weights_undo_command.h"

namespace souplab::gui {

namespace {
// Preset combo entries: data = kind, plus the domain index for one-hot.
enum PresetKind { kPresetNone, kPresetUniform, kPresetTraining, kPresetOneHot };

// The automatic group of a name: what precedes its first separator ("code_" of "code_python"),
// unless that is a number (clusters are "07_def_return": their numbers group nothing).
QString namePrefix(const QString& name) {
  for (int i = 1; i < name.size(); ++i) {
    const QChar c = name[i];
    if (c == QLatin1Char('_') || c == QLatin1Char('-') || c == QLatin1Char('.') || c == QLatin1Char(':') ||
        c == QLatin1Char('/') || c == QLatin1Char(' ')) {
      bool number = false;
      name.left(i).toInt(&number);
      return number ? QString() : name.left(i + 1);
    }
  }
  return {};
}
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

  auto* sortRow = new QHBoxLayout;
  m_sort = new QComboBox(this);
  m_sort->setObjectName(QStringLiteral("sortCombo"));
  m_sort->setToolTip(tr("The order of the domains, here and in the chart"));
  m_sort->addItem(tr("Corpus order"), int(SortOrder::Corpus));
  m_sort->addItem(tr("By name"), int(SortOrder::Name));
  m_sort->addItem(tr("Largest weight first"), int(SortOrder::Weight));
  m_sort->addItem(tr("Highest loss first"), int(SortOrder::Loss));
  m_sort->addItem(tr("Largest change first"), int(SortOrder::LargestChange));
  m_sort->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_sort->setMinimumContentsLength(10);
  connect(m_sort, qOverload<int>(&QComboBox::activated), this, [this] { applySort(); });
  m_groupVisible = new QPushButton(tr("Group these"), this);
  m_groupVisible->setObjectName(QStringLiteral("groupVisibleButton"));
  m_groupVisible->setToolTip(tr("Make the domains the filter shows a group that moves together"));
  m_groupVisible->setEnabled(false);
  connect(m_groupVisible, &QPushButton::clicked, this, &DomainSliders::groupVisible);
  sortRow->addWidget(m_sort, 1);
  sortRow->addWidget(m_groupVisible);
  outer->addLayout(sortRow);

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

  m_specialistLoss.clear();
  m_referenceLoss.clear();
  m_order.resize(size_t(names.size()));
  for (int i = 0; i < names.size(); ++i) m_order[size_t(i)] = i;
  m_sortPending = false;
  buildRows();
  buildAutomaticGroups();
  refresh();
  m_visible.clear();
  applySort();
  applyFilter();
  Q_EMIT weightsChanged(m_model.weights());
}

void DomainSliders::buildRows() {
  for (Row& row : m_rows)
    for (QWidget* w : std::initializer_list<QWidget*>{row.name, row.slider, row.spin, row.lock, row.loss}) delete w;
  m_rows.clear();
  for (Group& g : m_groups)
    for (QWidget* w : std::initializer_list<QWidget*>{g.label, g.slider, g.spin, g.remove}) delete w;
  m_groups.clear();
  // The loss column is as wide as its widest text from the start, so values arriving never
  // move the other columns.
  const int lossWidth = fontMetrics().horizontalAdvance(QStringLiteral("88.888 +888.8%"));
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
    row.loss = new QLabel(m_rowsHost);
    row.loss->setObjectName(QStringLiteral("loss_%1").arg(i));
    row.loss->setMinimumWidth(lossWidth);
    row.loss->setAlignment(Qt::AlignRight | Qt::AlignVCenter);

    connect(row.slider, &QSlider::valueChanged, this,
            [this, i](int value) { moveSlider(i, double(value) / kSliderSteps); });
    connect(row.slider, &QSlider::sliderPressed, this, &DomainSliders::endGesture);
    connect(row.slider, &QSlider::sliderReleased, this, &DomainSliders::endGesture);
    // A row dragged to 0 leaves the "non-zero" view, and a deferred re-sort happens, now.
    connect(row.slider, &QSlider::sliderReleased, this, [this] { applySort(); });
    connect(row.spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this, i](double v) {
      endGesture();  // a typed value is its own undo step
      moveSlider(i, v / 100.0);
      endGesture();
    });
    connect(row.lock, &QCheckBox::toggled, this, [this, i](bool on) { setLocked(i, on); });
    m_rows.push_back(row);
  }
  // The panel is at least as wide as a whole row (name, slider, % box, lock, loss) plus the
  // scroll bar, so a splitter or a small window cannot squeeze the % boxes out of view; measured
  // from the widgets' own hints, which exist before the rows are laid out.
  int nameWidth = 0;
  for (const Row& row : m_rows) nameWidth = std::max(nameWidth, std::min(150, row.name->sizeHint().width()));
  if (!m_rows.empty()) {
    const Row& r = m_rows.front();
    const int spacing = m_grid->horizontalSpacing() > 0 ? m_grid->horizontalSpacing() : 6;
    const QMargins margins = m_grid->contentsMargins();
    const int rowWidth = nameWidth + r.slider->minimumWidth() + r.spin->sizeHint().width() +
                         r.lock->sizeHint().width() + lossWidth + 4 * spacing + margins.left() + margins.right();
    m_scroll->setMinimumWidth(rowWidth + m_scroll->verticalScrollBar()->sizeHint().width() + 2);
  }
}

void DomainSliders::buildAutomaticGroups() {
  std::map<QString, std::vector<size_t>> byPrefix;
  for (int i = 0; i < m_names.size(); ++i) {
    const QString prefix = namePrefix(m_names[i]);
    if (!prefix.isEmpty()) byPrefix[prefix].push_back(size_t(i));
  }
  for (auto& [prefix, members] : byPrefix)
    if (members.size() >= 2 && members.size() < size_t(m_names.size()))
      addGroupRow({prefix + QLatin1Char('*'), members, false});
  layoutRows();
}

int DomainSliders::addGroup(const QString& name, const std::vector<int>& members) {
  std::vector<size_t> unique;
  for (int i : members)
    if (i >= 0 && i < m_names.size() && std::find(unique.begin(), unique.end(), size_t(i)) == unique.end())
      unique.push_back(size_t(i));
  if (unique.size() < 2 || unique.size() >= size_t(m_names.size())) return -1;
  std::sort(unique.begin(), unique.end());
  addGroupRow({name, unique, true});
  layoutRows();
  refresh();
  return int(m_groups.size()) - 1;
}

void DomainSliders::addGroupRow(Group group) {
  QStringList memberNames;
  for (size_t i : group.members) memberNames << m_names[int(i)];
  group.label = new QLabel(tr("%1 (%2)").arg(group.name).arg(group.members.size()), m_rowsHost);
  group.label->setMaximumWidth(150);
  group.label->setToolTip(tr("Group %1 moves together, keeping its inner mixture: %2")
                              .arg(group.name, memberNames.join(QStringLiteral(", "))));
  QFont bold = group.label->font();
  bold.setBold(true);
  group.label->setFont(bold);
  group.slider = new QSlider(Qt::Horizontal, m_rowsHost);
  group.slider->setRange(0, kSliderSteps);
  group.slider->setPageStep(kSliderSteps / 20);
  group.slider->setMinimumWidth(70);
  group.spin = new QDoubleSpinBox(m_rowsHost);
  group.spin->setRange(0, 100);
  group.spin->setDecimals(1);
  group.spin->setSuffix(QStringLiteral(" %"));
  group.spin->setKeyboardTracking(false);
  group.slider->setObjectName(QStringLiteral("groupSlider_%1").arg(m_groups.size()));
  // A group's index shifts when an earlier one goes: its widgets find it by its slider.
  if (group.user) {
    group.remove = new QToolButton(m_rowsHost);
    group.remove->setText(QStringLiteral("×"));
    group.remove->setToolTip(tr("Remove this group (the weights stay)"));
    connect(group.remove, &QToolButton::clicked, this, [this, slider = group.slider] { removeGroup(groupOf(slider)); });
  }
  connect(group.slider, &QSlider::valueChanged, this, [this, slider = group.slider](int value) {
    moveGroup(groupOf(slider), double(value) / kSliderSteps);
  });
  connect(group.slider, &QSlider::sliderPressed, this, &DomainSliders::endGesture);
  connect(group.slider, &QSlider::sliderReleased, this, &DomainSliders::endGesture);
  connect(group.slider, &QSlider::sliderReleased, this, [this] { applySort(); });
  connect(group.spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this, slider = group.slider](double v) {
    endGesture();  // a typed total is its own undo step
    moveGroup(groupOf(slider), v / 100.0);
    endGesture();
  });
  m_groups.push_back(std::move(group));
}

void DomainSliders::removeGroup(int g) {
  if (g < 0 || g >= groupCount() || !m_groups[size_t(g)].user) return;
  Group& group = m_groups[size_t(g)];
  // Later, not now: this runs inside the remove button's own click.
  for (QWidget* w : std::initializer_list<QWidget*>{group.label, group.slider, group.spin, group.remove}) {
    m_grid->removeWidget(w);
    w->hide();
    w->deleteLater();
  }
  m_groups.erase(m_groups.begin() + g);
  layoutRows();
}

int DomainSliders::groupOf(const QSlider* slider) const {
  for (int g = 0; g < groupCount(); ++g)
    if (m_groups[size_t(g)].slider == slider) return g;
  return -1;
}

QString DomainSliders::groupName(int g) const {
  return g >= 0 && g < groupCount() ? m_groups[size_t(g)].name : QString();
}

std::vector<size_t> DomainSliders::groupMembers(int g) const {
  return g >= 0 && g < groupCount() ? m_groups[size_t(g)].members : std::vector<size_t>{};
}

QSlider* DomainSliders::groupSlider(int g) const {
  return g >= 0 && g < groupCount() ? m_groups[size_t(g)].slider : nullptr;
}

void DomainSliders::groupVisible() {
  const QString needle = m_filter->text().trimmed();
  const QString name = !needle.isEmpty()       ? tr("“%1”").arg(needle)
                       : m_nonZero->isChecked() ? tr("non-zero")
                                                : tr("group %1").arg(groupCount() + 1);
  addGroup(name, m_visible);
}

void DomainSliders::layoutRows() {
  for (int r = 0; r < m_grid->rowCount(); ++r) m_grid->setRowStretch(r, 0);
  // Take every widget out, then put them back where the order says (removeWidget keeps them).
  while (m_grid->count() > 0) delete m_grid->takeAt(0);
  int r = 0;
  for (const Group& g : m_groups) {
    m_grid->addWidget(g.label, r, 0);
    m_grid->addWidget(g.slider, r, 1);
    m_grid->addWidget(g.spin, r, 2);
    if (g.remove) m_grid->addWidget(g.remove, r, 3, Qt::AlignLeft);
    ++r;
  }
  for (int i : m_order) {
    const Row& row = m_rows[size_t(i)];
    m_grid->addWidget(row.name, r, 0);
    m_grid->addWidget(row.slider, r, 1);
    m_grid->addWidget(row.spin, r, 2);
    m_grid->addWidget(row.lock, r, 3);
    m_grid->addWidget(row.loss, r, 4);
    ++r;
  }
  m_grid->setRowStretch(r, 1);
}

void DomainSliders::setSortOrder(SortOrder order) {
  m_sort->setCurrentIndex(m_sort->findData(int(order)));
  applySort();
}

DomainSliders::SortOrder DomainSliders::sortOrder() const { return SortOrder(m_sort->currentData().toInt()); }

bool DomainSliders::dragging() const {
  for (const Row& row : m_rows)
    if (row.slider->isSliderDown()) return true;
  for (const Group& g : m_groups)
    if (g.slider->isSliderDown()) return true;
  return false;
}

double DomainSliders::change(size_t i) const {
  if (i >= m_specialistLoss.size() || i >= m_referenceLoss.size()) return std::numeric_limits<double>::quiet_NaN();
  const double mine = m_specialistLoss[i], theirs = m_referenceLoss[i];
  return std::isfinite(mine) && std::isfinite(theirs) && theirs > 0 ? (mine - theirs) / theirs
                                                                     : std::numeric_limits<double>::quiet_NaN();
}

void DomainSliders::applySort() {
  // Rows never move under a drag: the order catches up when it ends.
  if (dragging()) {
    m_sortPending = true;
    return;
  }
  m_sortPending = false;
  std::vector<int> order(m_rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  const SortOrder how = sortOrder();
  const auto loss = [this](int i) {
    return size_t(i) < m_specialistLoss.size() && std::isfinite(m_specialistLoss[size_t(i)])
               ? m_specialistLoss[size_t(i)]
               : -std::numeric_limits<double>::infinity();  // unknown: last
  };
  const auto size = [this](int i) {
    const double c = change(size_t(i));
    return std::isfinite(c) ? std::abs(c) : -1.0;  // unknown: last
  };
  if (how == SortOrder::Name)
    std::stable_sort(order.begin(), order.end(), [this](int a, int b) {
      return m_names[a].compare(m_names[b], Qt::CaseInsensitive) < 0;
    });
  else if (how == SortOrder::Weight)
    std::stable_sort(order.begin(), order.end(),
                     [this](int a, int b) { return m_model.weight(size_t(a)) > m_model.weight(size_t(b)); });
  else if (how == SortOrder::Loss)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return loss(a) > loss(b); });
  else if (how == SortOrder::LargestChange)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return size(a) > size(b); });
  if (order != m_order) {
    m_order = order;
    layoutRows();
  }
  applyFilter();
}

void DomainSliders::setLosses(const std::vector<double>& specialist, const std::vector<double>& reference) {
  m_specialistLoss = specialist.size() == m_rows.size() ? specialist : std::vector<double>{};
  m_referenceLoss = reference.size() == m_rows.size() ? reference : std::vector<double>{};
  static const QColor better(0x1b, 0x7f, 0x3b), worse(0xb0, 0x00, 0x20);
  for (size_t i = 0; i < m_rows.size(); ++i) {
    QLabel* label = m_rows[i].loss;
    const QString text = lossText(int(i));
    if (label->text() != text) label->setText(text);
    const double c = change(i);
    // A palette, not a style sheet: at k = 256 a style sheet per label costs a re-polish each.
    const QColor colour = !std::isfinite(c) || c == 0 ? palette().color(QPalette::WindowText) : c < 0 ? better : worse;
    if (label->palette().color(QPalette::WindowText) != colour) {
      QPalette p = label->palette();
      p.setColor(QPalette::WindowText, colour);
      label->setPalette(p);
    }
    label->setToolTip(std::isfinite(c) ? tr("%1: specialist %2 vs reference %3 nats/byte")
                                             .arg(m_names[int(i)])
                                             .arg(m_specialistLoss[i], 0, 'f', 4)
                                             .arg(m_referenceLoss[i], 0, 'f', 4)
                                       : QString());
  }
  const SortOrder how = sortOrder();
  if (how == SortOrder::Loss || how == SortOrder::LargestChange) applySort();
}

QString DomainSliders::lossText(int index) const {
  const size_t i = size_t(index);
  if (i >= m_specialistLoss.size() || !std::isfinite(m_specialistLoss[i])) return {};
  const QString loss = QString::number(m_specialistLoss[i], 'f', 3);
  const double c = change(i);
  if (!std::isfinite(c)) return loss;
  return QStringLiteral("%1 %2%3%").arg(loss, c > 0 ? QStringLiteral("+") : QString()).arg(100.0 * c, 0, 'f', 1);
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
  for (int i : m_order) {
    const bool show = (needle.isEmpty() || m_names[i].contains(needle, Qt::CaseInsensitive)) &&
                      (!nonZero || m_model.weight(size_t(i)) > 0 ||
                       m_rows[size_t(i)].slider->isSliderDown());  // never pull a row from under a drag
    const Row& row = m_rows[size_t(i)];
    for (QWidget* w : std::initializer_list<QWidget*>{row.name, row.slider, row.spin, row.lock, row.loss})
      w->setVisible(show);
    if (show) visible.push_back(i);
  }
  m_groupVisible->setEnabled(visible.size() >= 2 && visible.size() < m_rows.size());
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

void DomainSliders::moveGroup(int group, double weight) {
  if (group < 0 || group >= groupCount()) return;
  const Group& g = m_groups[size_t(group)];
  SimplexWeights next = m_model;
  next.setGroupWeight(g.members, weight);
  if (next.weights() == m_model.weights()) {
    refresh();
    return;
  }
  // Group sliders merge their own drags: ids after the domains' ones.
  pushChange(next.weights(), int(m_rows.size()) + group, tr("Move group %1").arg(g.name));
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
  // A weight that became 0 (or left 0) changes the "non-zero" view; a new weight, that order.
  if (sortOrder() == SortOrder::Weight) applySort();
  else if (m_nonZero->isChecked()) applyFilter();
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
  for (const Group& g : m_groups) {
    const double total = m_model.groupWeight(g.members);
    bool anyFree = false;
    for (size_t i : g.members) anyFree = anyFree || !m_model.isLocked(i);
    QSignalBlocker b1(g.slider), b2(g.spin);
    g.slider->setValue(int(std::lround(total * kSliderSteps)));
    g.spin->setValue(total * 100.0);
    g.slider->setEnabled(anyFree);
    g.spin->setEnabled(anyFree);
  }
}

void DomainSliders::showError(const QString& message) {
  m_lastError = message;
  m_status->setText(message);
  m_status->show();
}

}  // namespace souplab::gui
