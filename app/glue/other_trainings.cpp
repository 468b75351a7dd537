#include "app/glue/other_trainings.h"

#include <QFileInfo>
#include <QStringList>

#include <cerrno>
#include <csignal>

#include "souplab/run_log.h"

namespace souplab::gui {

QString other_trainings_warning(const QString& runLogPath, qint64 selfPid) {
  if (!QFileInfo::exists(runLogPath)) return {};
  QStringList runs;
  try {
    const RunLog log(runLogPath.toStdString());
    for (const RunSummary& r : log.list_runs()) {
      if (r.status != "running") continue;
      const RunDetails d = log.get_run(r.id);
      // kill(pid, 0): the process exists (EPERM also means it does, owned by someone else).
      if (!d.owner_pid || *d.owner_pid == selfPid || *d.owner_pid <= 0) continue;
      if (::kill(pid_t(*d.owner_pid), 0) != 0 && errno != EPERM) continue;
      runs << QStringLiteral("'%1' (run %2, process %3)").arg(QString::fromStdString(r.name)).arg(r.id).arg(*d.owner_pid);
    }
  } catch (const std::exception&) {
    return {};
  }
  if (runs.isEmpty()) return {};
  return QStringLiteral("Another SoupLab process is training %1 on this machine: the bars here and that "
                        "training share the same cores, so both run slower")
      .arg(runs.join(QStringLiteral(", ")));
}

}  // namespace souplab::gui
