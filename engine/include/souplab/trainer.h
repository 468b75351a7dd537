#pragma once
// Training soup and dense runs (torch-free header: front ends include it without libtorch).
//
// The engine never prints: progress, evaluations, checkpoints and messages reach the front end
// through callbacks, called on the training thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "souplab/config.h"
#include "souplab/distributed.h"
#include "souplab/metrics.h"  // EvalResult

namespace souplab {

struct TrainProgress {
  int64_t step = 0;          // optimiser steps done
  int64_t total_steps = 0;
  double train_loss = 0;     // mean over the steps since the last report
  double lr = 0;
  double tokens_per_sec = 0; // since the last report
  double elapsed_s = 0;      // training time of this run (all sessions), pauses excluded
  double eta_s = 0;          // at the current throughput
  // A data-parallel job (souplab/distributed.h): its ranks, and each rank's own tokens/s over
  // the time it computed (waits for the other ranks excluded), in rank order: a slow rank shows
  // as the low one. tokens_per_sec above is the whole job's.
  int world_size = 1;
  std::vector<double> rank_tokens_per_sec;
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;  // every log_interval steps
  std::function<void(const EvalResult&)> on_eval;         // every eval_interval steps and at the end
  std::function<void(const std::string& path, int64_t step)> on_checkpoint;
  std::function<void(const std::string& message)> on_message;  // device choice, corpus build, ...
  // Called once per step before it runs. Return true to stop (a checkpoint is saved first).
  // It may block, which is how front ends pause; time spent inside is not counted as training.
  std::function<bool()> should_stop;
  // Pausing a job of several ranks: a rank that blocked in should_stop while another had passed
  // its own check would hold that one in the step's collective (until the pause ended or the
  // collective timed out). So ranks pause only when they agree: pause_requested (must not
  // block) is polled before should_stop and OR-ed over the ranks, and when any asks every rank
  // calls wait_while_paused (outside any collective), which blocks until the pause ends.
  // should_stop must then not block. Either may be empty.
  std::function<bool()> pause_requested;
  std::function<void()> wait_while_paused;
};

enum class TrainOutcome { kFinished, kStopped };

class Trainer {
 public:
  // Opens (and if needed tokenises) the corpus, builds and initialises the model, creates the
  // run in the run log (empty path: default_run_log_path()). Errors name the file/folder.
  // With `dist` active this process is one rank of a data-parallel job (souplab/distributed.h):
  // every rank must pass the same config; rank 0 alone writes the run log and checkpoints, and
  // only its callbacks see evaluations.
  static std::unique_ptr<Trainer> start_new(RunConfig config, const std::string& run_log_path = {},
                                            const TrainCallbacks& callbacks = {},
                                            const DistributedOptions& dist = {});
  // Loads a checkpoint and continues the same run id exactly where it stopped.
  // `total_steps_override` > 0 sets a new step budget (at least the checkpoint's step); the
  // cosine schedule is then recomputed for the new total, so only an unchanged budget repeats
  // the uninterrupted run exactly. Any number of ranks may resume a checkpoint written by any
  // other number (its state is the whole run's, not a rank's).
  static std::unique_ptr<Trainer> resume(const std::string& checkpoint_path,
                                         const std::string& run_log_path = {},
                                         const TrainCallbacks& callbacks = {},
                                         int64_t total_steps_override = 0,
                                         const DistributedOptions& dist = {});
  virtual ~Trainer() = default;

  // Trains until the step budget is reached or should_stop says so. Saves checkpoints on the
  // way and at the end. Exceptions (Error, out of memory) propagate after the run is marked
  // failed in the log.
  virtual TrainOutcome run(const TrainCallbacks& callbacks) = 0;

  // Saves a checkpoint now; returns its path.
  virtual std::string save_checkpoint() = 0;

  virtual int64_t run_id() const = 0;
  virtual int64_t step() const = 0;
  virtual const RunConfig& config() const = 0;
  virtual const std::vector<std::string>& domain_names() const = 0;
  virtual std::string run_dir() const = 0;
  virtual std::string device() const = 0;
  virtual int world_size() const = 0;  // ranks training this run together (1: this process alone)
  // The latest checkpoint written (empty if none yet).
  virtual std::string last_checkpoint() const = 0;
};

// Learning rate at `step` (0-based): linear warm-up, then cosine to lr * min_lr_ratio.
double learning_rate_at(const TrainConfig& c, int64_t step);

}  // namespace souplab
