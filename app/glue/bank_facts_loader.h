#pragma once
// Reads a model's facts (domains, sizes, run and step) off the GUI thread: Model::load reads
// the whole bank, which can take seconds for a large one. The latest request wins.
#include <QString>

#include "app/glue/threaded_job.h"
#include "souplab/model.h"

Q_DECLARE_METATYPE(souplab::ModelFacts)
Q_DECLARE_METATYPE(souplab::ModelCapabilities)

namespace souplab::gui {

class BankFactsLoader : public ThreadedJob {
  Q_OBJECT
 public:
  explicit BankFactsLoader(QObject* parent = nullptr);

  void load(const QString& path, const QString& device = QStringLiteral("auto"));

 Q_SIGNALS:
  void loaded(const QString& path, const souplab::ModelFacts& facts);
  void loadFailed(const QString& path, const QString& message);
};

}  // namespace souplab::gui
