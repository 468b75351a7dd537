#pragma once
// What "Quick start" means: the demo corpus under the data dir (built on first use, off the GUI
// thread, by the training worker) and a soup run with the default config on it.
#include <QString>

#include "app/glue/training_session.h"

namespace souplab::gui {

// <data dir>/demo-corpus (follows SOUPLAB_DATA_DIR).
QString demoCorpusDir();
bool demoCorpusExists();

// A soup run with RunConfig's defaults on the demo corpus, then the dense baseline of the same
// budget. Validation runs more often than the default so the per-domain curves move within the
// first minute or two.
TrainRequest quickStartRequest();

// A tiny run (1 layer, width 32) used by screenshots and smoke tests: seconds, not minutes.
TrainRequest tinyRequest(const QString& corpusDir, int steps);

}  // namespace souplab::gui
