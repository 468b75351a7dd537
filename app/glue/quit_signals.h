#pragma once
// SIGINT / SIGTERM as a Qt signal (self-pipe pattern): the handler only write()s the signal
// number to a socket, which is async-signal-safe; a QSocketNotifier on the other end turns it
// into quitRequested() on the GUI thread, where closing the window (stop training, save a
// checkpoint) is allowed. The handler is one-shot (SA_RESETHAND): a second Ctrl-C while the
// checkpoint is being saved ends the process at once, as a user pressing it again expects.
#include <QObject>

class QSocketNotifier;

namespace souplab::gui {

class QuitSignals : public QObject {
  Q_OBJECT

 public:
  // Installs the handlers. One instance per process (the handler's socket is process-wide);
  // a second one is an error reported by isInstalled() == false.
  explicit QuitSignals(QObject* parent = nullptr);
  ~QuitSignals() override;  // restores the default actions

  bool isInstalled() const { return m_notifier != nullptr; }

 Q_SIGNALS:
  void quitRequested(int signal);

 private:
  void onReadable();

  QSocketNotifier* m_notifier = nullptr;
};

}  // namespace souplab::gui
