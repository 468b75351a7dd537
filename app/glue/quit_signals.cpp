#include "app/glue/quit_signals.h"

#include <QSocketNotifier>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace souplab::gui {
namespace {

// [0] written by the handler, [1] read by the notifier. -1 when not installed.
int g_fds[2] = {-1, -1};

extern "C" void onQuitSignal(int signal) {
  // Only async-signal-safe calls here: write(2) on a non-blocking socket, errno restored.
  const int saved = errno;
  const char byte = char(signal);
  [[maybe_unused]] const ssize_t n = ::write(g_fds[0], &byte, 1);
  errno = saved;
}

constexpr int kSignals[] = {SIGINT, SIGTERM};

}  // namespace

QuitSignals::QuitSignals(QObject* parent) : QObject(parent) {
  if (g_fds[0] >= 0) return;  // another instance owns the handlers
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, g_fds) != 0) {
    g_fds[0] = g_fds[1] = -1;
    return;
  }
  m_notifier = new QSocketNotifier(g_fds[1], QSocketNotifier::Read, this);
  connect(m_notifier, &QSocketNotifier::activated, this, &QuitSignals::onReadable);
  struct sigaction action = {};
  action.sa_handler = onQuitSignal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: system calls interrupted by the signal resume instead of failing with EINTR.
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  for (int s : kSignals) ::sigaction(s, &action, nullptr);
}

QuitSignals::~QuitSignals() {
  if (!m_notifier) return;
  for (int s : kSignals) std::signal(s, SIG_DFL);
  delete m_notifier;
  m_notifier = nullptr;
  ::close(g_fds[0]);
  ::close(g_fds[1]);
  g_fds[0] = g_fds[1] = -1;
}

void QuitSignals::onReadable() {
  char bytes[16];
  const ssize_t n = ::read(g_fds[1], bytes, sizeof bytes);
  for (ssize_t i = 0; i < n; ++i) Q_EMIT quitRequested(int(bytes[i]));
}

}  // namespace souplab::gui
