#pragma once
// The facts of the open bank: file, kind, domains, n, parameter counts, device, run and step.
#include <QWidget>

#include "souplab/model.h"

class QFormLayout;
class QLabel;
class QPushButton;

namespace souplab::gui {

class BankPanel : public QWidget {
  Q_OBJECT
 public:
  explicit BankPanel(QWidget* parent = nullptr);
  void showLoading(const QString& path);
  void showFacts(const souplab::ModelFacts& facts);
  void showError(const QString& path, const QString& message);
  void showEmpty();
  QString shownPath() const { return m_path; }

 Q_SIGNALS:
  void openRequested();

 private:
  void setRow(const QString& key, const QString& value);

  QString m_path;
  QFormLayout* m_form = nullptr;
  QLabel* m_title = nullptr;
  QPushButton* m_openButton = nullptr;
};

}  // namespace souplab::gui
