#pragma once
// The tiny soup run the engine tests train on a generated corpus: one block of width 48 over
// 32-byte windows, 3 experts, 1 thread. Small enough that hundreds of steps take seconds, so
// tests can train until the behaviour they check (falling loss, specialisation) is real.
#include <QString>

#include "souplab/config.h"

namespace test_util {

inline souplab::RunConfig tiny_run_config(const QString& corpus, const QString& out, int64_t steps) {
  souplab::RunConfig c;
  c.model.n_layer = 1;
  c.model.n_embd = 48;
  c.model.n_head = 4;
  c.model.block_size = 32;
  c.bank.n_experts = 3;
  c.bank.coef_hidden = 32;
  c.train.corpus_dir = corpus.toStdString();
  c.train.out_dir = out.toStdString();
  c.train.steps = steps;
  c.train.batch_size = 8;
  c.train.lr = 3e-3;
  c.train.warmup_steps = 5;
  c.train.log_interval = 5;
  c.train.eval_interval = 10;
  c.train.eval_windows = 8;
  c.train.checkpoint_interval = 10;
  c.train.keep_checkpoints = 2;
  c.train.seed = 42;
  // One intra-op thread: ctest runs two suites at once on CI's 2 cores, and two 2-thread
  // OpenMP pools on 2 cores stall at every fork/join (6x slower under ASan, measured).
  c.train.threads = 1;
  return c;
}

}  // namespace test_util
