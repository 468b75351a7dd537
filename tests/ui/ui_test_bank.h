#pragma once
// A tiny soup bank trained for real on a test corpus, for GUI tests that need a checkpoint:
// 1 layer, width 32, 2 experts, one evaluation and one checkpoint at the last step.
#include <QString>

#include <string>

#include "souplab/trainer.h"

namespace souplab::test {

// Trains `steps` steps of `batch` sequences on `corpusDir`, logging to `runLogPath`; returns the
// last checkpoint's path. `kind` dense gives the same model without experts (a baseline), moe a
// sparse MoE (8 experts, top 2). checkpointEvery > 0 saves (and keeps) one every that many steps.
inline QString trainTinyTestBank(const QString& corpusDir, int steps, int batch,
                                 const std::string& runName, const std::string& runLogPath,
                                 souplab::ModelKind kind = souplab::ModelKind::kSoup, int checkpointEvery = 0) {
  souplab::RunConfig c;
  c.train.kind = kind;
  c.model.n_layer = 1;
  c.model.n_embd = 32;
  c.model.n_head = 2;
  c.model.block_size = 32;
  c.bank.n_experts = 2;
  c.bank.coef_hidden = 16;
  c.train.corpus_dir = corpusDir.toStdString();
  c.train.device = "cpu";
  c.train.steps = steps;
  c.train.batch_size = batch;
  c.train.warmup_steps = 1;
  c.train.log_interval = 1;
  c.train.eval_interval = steps;
  c.train.eval_windows = 2;
  c.train.checkpoint_interval = checkpointEvery > 0 ? checkpointEvery : steps;
  c.train.keep_checkpoints = steps;
  c.train.run_name = runName;
  auto trainer = souplab::Trainer::start_new(c, runLogPath);
  trainer->run({});
  return QString::fromStdString(trainer->last_checkpoint());
}

}  // namespace souplab::test
