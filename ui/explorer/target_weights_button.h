#pragma once
// "Specialist for this text…" (docs/DESIGN.md §1.5): pick a file — or drop files or a folder on the
// button — and the sliders move to that target's domain weights. Its menu offers the two
// estimates: fit h through the bank (lowest loss on the text) or the nearest-domain histogram.
// A fit shows the histogram's weights first (seconds), then refines them by the fit; while it
// runs the button shows the progress and a click cancels (the sliders keep the histogram's h).
// The estimate runs on a WeightsWorker thread; the GUI thread only starts it and applies h
// (DomainSliders::applyWeights: each stage is one undo step).
#include <QPushButton>
#include <QString>
#include <vector>

class QDragEnterEvent;
class QDropEvent;
class QMenu;

namespace souplab::gui {

class DomainSliders;
class ExplorerSession;
class WeightsWorker;

class TargetWeightsButton : public QPushButton {
  Q_OBJECT

 public:
  TargetWeightsButton(ExplorerSession* session, DomainSliders* sliders, QWidget* parent = nullptr);
  ~TargetWeightsButton() override;

  WeightsWorker* worker() const { return m_worker; }
  bool isBusy() const { return m_busy; }

 public Q_SLOTS:
  // method: "fit" (the histogram's h first when the bank's corpus is there) or "histogram".
  // Emits failed() when no soup bank is loaded.
  void estimate(const QString& targetPath, const QString& method = QStringLiteral("fit"));
  void cancel();  // the running estimate stops; the h applied so far stays

 Q_SIGNALS:
  void targetChosen(const QString& targetPath);  // an estimate for this text started
  // Once per stage: the histogram's h (final = false when the fit follows), then the fit's.
  void estimated(const std::vector<double>& h, const QString& summary, bool final);
  void cancelled(const QString& message);
  void failed(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void choose(const QString& method);
  bool startStage(const QString& method);
  void setBusy(bool busy);

  ExplorerSession* m_session;
  DomainSliders* m_sliders;
  WeightsWorker* m_worker;
  QMenu* m_menu;
  QString m_target;           // the text being estimated
  QString m_stage;            // "histogram" or "fit", while busy
  bool m_fitFollows = false;  // a fit runs after the histogram stage
  bool m_busy = false;
  bool m_available = false;  // the loaded model has domains
  bool m_cancelling = false;
};

}  // namespace souplab::gui
