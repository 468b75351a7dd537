#include "app/glue/bank_facts_loader.h"

#include <exception>
#include <new>

namespace souplab::gui {

BankFactsLoader::BankFactsLoader(QObject* parent) : ThreadedJob(parent) {
  qRegisterMetaType<souplab::ModelFacts>("souplab::ModelFacts");
}

void BankFactsLoader::load(const QString& path, const QString& device) {
  supersede(QStringLiteral("souplab-facts"), [this, path, device](const Post& post, const std::atomic<bool>&) {
    try {
      const ModelFacts facts = Model::load(path.toStdString(), device.toStdString())->facts();
      post([this, path, facts] {
        markDone();
        Q_EMIT loaded(path, facts);
      });
    } catch (const std::bad_alloc&) {
      post([this, path] {
        markDone();
        Q_EMIT loadFailed(path, tr("%1: not enough memory to open this bank").arg(path));
      });
    } catch (const std::exception& e) {
      const QString message = QString::fromStdString(e.what());
      post([this, path, message] {
        markDone();
        Q_EMIT loadFailed(path, message);
      });
    }
  });
}

}  // namespace souplab::gui
