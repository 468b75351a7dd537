#pragma once
// Training elsewhere on this machine: two libtorch processes on the same cores slow each other
// down many times over (a `weights --method fit` took 1,060 s beside a training instead of
// ~100 s), so the explorer says so when another process is training a run of the run log.
#include <QString>

namespace souplab::gui {

// A warning naming the run(s) that processes other than `selfPid` are training now (status
// running, owner process alive), or an empty string. Reads the run log (a few rows).
QString other_trainings_warning(const QString& runLogPath, qint64 selfPid);

}  // namespace souplab::gui
