#include "app/glue/bank_facts_loader.h"

#include <QMetaObject>
#include <QThread>

#include <algorithm>
#include <new>

namespace souplab::gui {

BankFactsLoader::BankFactsLoader(QObject* parent) : QObject(parent) {
  qRegisterMetaType<souplab::BankFacts>("souplab::BankFacts");
}

BankFactsLoader::~BankFactsLoader() {
  m_threads.joinAll();  // the threads post back to `this`: it must outlive them
}

void BankFactsLoader::load(const QString& path, const QString& device) {
  const int generation = ++m_generation;
  QThread* thread = QThread::create([this, path, device, generation] {
    BankFacts facts;
    QString error;
    try {
      facts = Bank::load(path.toStdString(), device.toStdString())->facts();
    } catch (const std::bad_alloc&) {
      error = tr("%1: not enough memory to open this bank").arg(path);
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, path, facts, error, generation] {
          if (generation != m_generation.load()) return;
          if (error.isEmpty()) Q_EMIT loaded(path, facts);
          else Q_EMIT failed(path, error);
        },
        Qt::QueuedConnection);
  });
  m_threads.start(thread);
}

}  // namespace souplab::gui
