#pragma once
// First launch: no bank opened before and no run in the log. One obvious next step (quick
// start: build the demo corpus and train a small bank, curves moving within a minute) and the
// two others (open a bank, configure a run).
#include <QWidget>

class QLabel;
class QPushButton;

namespace souplab::gui {

class WelcomePage : public QWidget {
  Q_OBJECT
 public:
  explicit WelcomePage(QWidget* parent = nullptr);
  QPushButton* quickStartButton() const { return m_quickStart; }
  void setBusy(const QString& text);  // after a click: no double start

 Q_SIGNALS:
  void quickStartRequested();
  void openBankRequested();
  void newRunRequested();

 private:
  QPushButton* m_quickStart = nullptr;
  QLabel* m_note = nullptr;
};

}  // namespace souplab::gui
