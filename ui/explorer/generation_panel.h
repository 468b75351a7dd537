#pragma once
// The text panel of the explorer: a prompt, sampling settings and a read-only area that the
// generation worker's pieces stream into. A view only: it asks (generateRequested /
// stopRequested) and is told (setRunning, clearOutput, appendPiece); the explorer wires it to
// the GenerationWorker.
#include <QWidget>

#include "souplab/specialist.h"  // SampleOptions

class QCheckBox;
class QDoubleSpinBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace souplab::gui {

class GenerationPanel : public QWidget {
  Q_OBJECT

 public:
  explicit GenerationPanel(QWidget* parent = nullptr);

  QString prompt() const;
  souplab::SampleOptions options() const;
  // "Follow h": regenerate whenever the specialist changes, even after a run has finished.
  bool followsWeights() const;
  QString output() const;

 public Q_SLOTS:
  void setRunning(bool running);
  void setAvailable(bool available);  // a specialist exists to sample from
  void clearOutput();
  void appendPiece(const QString& piece);

 Q_SIGNALS:
  void generateRequested();
  void stopRequested();

 private:
  bool m_running = false;
  QLineEdit* m_prompt = nullptr;
  QDoubleSpinBox* m_temperature = nullptr;
  QSpinBox* m_topK = nullptr;
  QSpinBox* m_length = nullptr;
  QCheckBox* m_follow = nullptr;
  QPushButton* m_button = nullptr;
  QPlainTextEdit* m_output = nullptr;
};

}  // namespace souplab::gui
