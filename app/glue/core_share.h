#pragma once
// Sharing the cores between the libtorch work of one process. libtorch's OpenMP backend gives
// every thread that runs tensor ops its own team of threads, so a training at 2 threads and an
// explorer evaluating at 2 put 4 busy threads on a 2-core machine, and both crawl (a fit beside
// a training: 1,060 s instead of 72-110 s). A training claims its threads while it runs; the
// other workers (explorer, text, fits, exports) size their own team to what is left, at least
// one thread, before each piece of work.
//
// Team sizes alone do not keep a training fast beside an explorer in use: the explorer's service,
// its text generation and a fit of h each take a team of one, so together they take more than
// the core the training left and spill onto the training's (the 30-minute soak: the training at
// 50 % of its speed). Work nobody waits for move by move (the generated text, fits of h) runs in
// the background class: its thread's scheduling priority is lowered (nice +10 on Linux), so the
// kernel gives it what the training, the GUI and the explorer's slider moves leave, and all of
// it when they are idle. Priorities, not a fixed share: idle cores are never left unused.
namespace souplab::gui {

// Held by a training for as long as it runs (RAII; several may run at once).
class TrainingCoresClaim {
 public:
  explicit TrainingCoresClaim(int threads);  // 0: every core, as the trainer takes them
  ~TrainingCoresClaim();
  TrainingCoresClaim(const TrainingCoresClaim&) = delete;
  TrainingCoresClaim& operator=(const TrainingCoresClaim&) = delete;

 private:
  int m_threads;
};

// The cores no training has claimed, at least 1; every core when no training runs.
int coresLeftForOtherWork();
// Sizes the calling thread's libtorch team to coresLeftForOtherWork() (cheap when unchanged);
// call it after anything that may have resized the team (Model::load does).
void fitThisThreadToFreeCores();
// Background work that can wait (the explorer's refinement) rests this long after a piece of
// work that took `workMs`: 0 when no training runs, else 3x, so that it takes ~1/4 of a core
// and the training keeps most of its speed (bench_concurrency measures both).
int restAfterBackgroundWorkMs(double workMs);

// Puts the calling thread (and the OpenMP team it starts later, which inherits it) in the
// background class: nice +10 on Linux, once per thread; a no-op elsewhere. Irreversible for
// an unprivileged process, so only threads that do background work for their whole life call
// it (the generation thread, the fit jobs). Returns the thread's nice value after the call.
int runThisThreadInBackground();

}  // namespace souplab::gui
