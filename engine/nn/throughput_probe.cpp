// probe_training_throughput (souplab/presets.h): a few real training steps of a config on a
// scratch corpus, timed, so a preset's time is measured on this machine rather than guessed.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "souplab/device.h"
#include "souplab/error.h"
#include "souplab/presets.h"
#include "souplab/trainer.h"

namespace souplab {

double probe_training_throughput(const RunConfig& config, int k, double seconds) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("souplab-probe-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(std::random_device{}()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{dir};
  // k domains of random printable bytes, a few documents each: enough tokens for any batch.
  std::mt19937 rng(1);
  const size_t per_domain = std::max<size_t>(64 * 1024, size_t(config.model.block_size) * 64);
  for (int d = 0; d < std::max(2, k); ++d) {
    fs::create_directories(dir / "corpus" / ("d" + std::to_string(d)));
    std::ofstream out(dir / "corpus" / ("d" + std::to_string(d)) / "data.txt", std::ios::binary);
    std::string text(per_domain, ' ');
    for (auto& ch : text) ch = char(32 + rng() % 95);
    for (size_t i = 4096; i < text.size(); i += 4096) text.replace(i, 3, "\n\f\n");
    out << text;
  }
  RunConfig c = config;
  c.train.corpus_dir = (dir / "corpus").string();
  c.train.cache_dir = (dir / "cache").string();
  c.train.out_dir = (dir / "run").string();
  c.train.run_name = "throughput probe";
  c.train.steps = 1'000'000;  // stopped by time below
  c.train.log_interval = 1;
  c.train.eval_interval = c.train.steps;
  c.train.eval_windows = 1;
  c.train.checkpoint_interval = c.train.steps;
  c.train.keep_checkpoints = 1;
  c.train.warmup_steps = 0;
  c.train.init_from.clear();
  struct Mark {
    int64_t step;
    double elapsed;
  };
  std::vector<Mark> marks;
  const auto start = std::chrono::steady_clock::now();
  TrainCallbacks cb;
  cb.on_progress = [&](const TrainProgress& p) { marks.push_back({p.step, p.elapsed_s}); };
  cb.should_stop = [&] {
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return took > seconds && marks.size() >= 4;
  };
  auto trainer = Trainer::start_new(c, (dir / "runs.sqlite").string(), cb);
  trainer->run(cb);
  // The first two steps pay for allocation and thread start-up: measure from the third.
  if (marks.size() < 4) throw Error("throughput probe: too few steps to measure");
  const Mark& a = marks[2];
  const Mark& b = marks.back();
  if (b.elapsed <= a.elapsed) throw Error("throughput probe: no time measured");
  return double(b.step - a.step) * double(c.train.batch_size) * double(c.model.block_size) / (b.elapsed - a.elapsed);
}

RunEstimate estimate_on_this_machine(const RunConfig& c, int k, double seconds) {
  if (c.train.device.rfind("cuda", 0) == 0 && !cuda_available())
    return estimate_run(c, k, roofline_gpu_tokens_per_second(c, k), false,
                        "no GPU here: the roofline of one 80 GB GPU, docs/GPU.md; scripts/gpu-check.sh measures it");
  const std::string threads = c.train.threads > 0 ? ", " + std::to_string(c.train.threads) + " threads" : "";
  return estimate_run(c, k, probe_training_throughput(c, k, seconds), true,
                      "measured: a few steps on " + c.train.device + threads);
}

}  // namespace souplab
