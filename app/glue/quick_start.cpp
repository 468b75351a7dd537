#include "app/glue/quick_start.h"

#include <QDir>

#include "souplab/paths.h"

namespace souplab::gui {

QString demoCorpusDir() { return QString::fromStdString(souplab::default_demo_corpus_dir()); }

bool demoCorpusExists() {
  return QDir(demoCorpusDir()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() >= 2;
}

TrainRequest quickStartRequest() {
  TrainRequest request;
  request.config.train.kind = souplab::ModelKind::kSoup;
  request.config.train.corpus_dir = demoCorpusDir().toStdString();
  request.config.train.run_name = "quick start";
  request.config.train.eval_interval = 50;
  request.config.train.log_interval = 2;  // the train curve moves within seconds
  request.buildDemoCorpus = true;
  // Then the dense model of the same budget (~as long again, ~10 minutes in all on 2 cores):
  // the explorer compares the specialists with it as soon as it ends (the soup is explorable
  // while it trains).
  request.thenDenseBaseline = true;
  return request;
}

TrainRequest tinyRequest(const QString& corpusDir, int steps) {
  TrainRequest request;
  RunConfig& c = request.config;
  c.model.n_layer = 1;
  c.model.n_embd = 32;
  c.model.n_head = 2;
  c.model.block_size = 32;
  c.bank.n_experts = 4;
  c.bank.coef_hidden = 32;
  c.train.kind = souplab::ModelKind::kSoup;
  c.train.corpus_dir = corpusDir.toStdString();
  c.train.steps = steps;
  c.train.batch_size = 4;
  c.train.warmup_steps = std::min<int64_t>(10, steps / 4);
  c.train.log_interval = 2;
  c.train.eval_interval = 10;
  c.train.eval_windows = 2;
  c.train.checkpoint_interval = 10;
  c.train.device = "cpu";
  c.train.run_name = "tiny";
  request.buildDemoCorpus = corpusDir == demoCorpusDir();
  return request;
}

}  // namespace souplab::gui
