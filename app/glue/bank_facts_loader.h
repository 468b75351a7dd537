#pragma once
// Reads a checkpoint's facts (domains, sizes, run and step) off the GUI thread: Bank::load
// reads the whole bank, which can take seconds for a large one. The latest request wins.
#include <QObject>
#include <QString>

#include <atomic>
#include <vector>

#include "app/glue/loader_threads.h"
#include "engine/nn/bank.h"

Q_DECLARE_METATYPE(souplab::BankFacts)

class QThread;

namespace souplab::gui {

class BankFactsLoader : public QObject {
  Q_OBJECT
 public:
  explicit BankFactsLoader(QObject* parent = nullptr);
  ~BankFactsLoader() override;  // joins the reading threads

  void load(const QString& path, const QString& device = QStringLiteral("auto"));

 Q_SIGNALS:
  void loaded(const QString& path, const souplab::BankFacts& facts);
  void failed(const QString& path, const QString& message);

 private:
  LoaderThreads m_threads;
  std::atomic<int> m_generation{0};  // results of older requests are dropped
};

}  // namespace souplab::gui
