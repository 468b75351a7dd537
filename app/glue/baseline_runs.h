#pragma once
// The dense runs of the run log a bank can be compared with: the honest reference for a
// specialist is a plain model trained on the same corpus with the same budget (same size,
// steps and batch), not the soup itself at uniform h. Reads the run log (a few SQLite rows: fast
// enough for the GUI thread).
#include <QString>
#include <QVector>

#include "souplab/config.h"
#include "souplab/model.h"

namespace souplab::gui {

struct BaselineCandidate {
  qint64 runId = 0;
  QString name;
  QString checkpoint;        // the run's last checkpoint (exists)
  qint64 steps = 0;          // its step
  bool equalBudget = false;  // same model size, steps and batch as the bank
  QString label() const;     // for the picker: name, run, steps, "equal budget"
};

// Dense runs over the bank's domains (same names, same order) with a checkpoint on disk, equal
// budget first, newest first within each. Empty when the log cannot be read.
QVector<BaselineCandidate> dense_baselines(const QString& runLogPath, const souplab::ModelFacts& bank);

// The config of a dense run with the bank's budget: its model size, steps, batch, learning
// rate, corpus and seed, kind dense, uniform mixture.
souplab::RunConfig dense_baseline_config(const souplab::ModelFacts& bank);
// The same from the soup run's own config (before it has a checkpoint): its corpus as given.
souplab::RunConfig dense_baseline_config(const souplab::RunConfig& soup, const std::string& soupName);

}  // namespace souplab::gui
