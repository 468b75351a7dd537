#pragma once
// "Specialist for this text…" (DESIGN §1.5): pick a file — or drop files or a folder on the
// button — and the sliders move to that target's domain weights. Its menu offers the two
// estimates: fit h through the bank (lowest loss on the text) or the nearest-domain histogram.
// The estimate runs on a WeightsWorker thread; the GUI thread only starts it and applies h
// (through DomainSliders::applyText, so it is one undo step).
#include <QPushButton>
#include <QString>
#include <vector>

class QDragEnterEvent;
class QDropEvent;

namespace souplab::gui {

class DomainSliders;
class InferenceWorker;
class WeightsWorker;

class TargetWeightsButton : public QPushButton {
  Q_OBJECT

 public:
  TargetWeightsButton(InferenceWorker* inference, DomainSliders* sliders, QWidget* parent = nullptr);
  ~TargetWeightsButton() override;

  WeightsWorker* worker() const { return m_worker; }

 public Q_SLOTS:
  // method: "fit" or "histogram". Emits failed() when no soup bank is loaded.
  void estimate(const QString& targetPath, const QString& method = QStringLiteral("fit"));

 Q_SIGNALS:
  void estimated(const std::vector<double>& h, const QString& summary);
  void failed(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void choose(const QString& method);
  void setBusy(bool busy);

  InferenceWorker* m_inference;
  DomainSliders* m_sliders;
  WeightsWorker* m_worker;
};

}  // namespace souplab::gui
