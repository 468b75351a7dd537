#pragma once
// Helpers for tests of data-parallel jobs: the ranks of a job as threads of the test process
// (each with its own Trainer and process group, as separate processes would have), and the
// largest difference between two checkpoints.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint_tensors.h"
#include "souplab/distributed.h"
#include "souplab/trainer.h"

namespace test_util {

// The largest |a - b| over every tensor of two checkpoints (parameters and AdamW moments);
// infinity when their tensor names or sizes differ.
inline double max_difference(const std::string& a_path, const std::string& b_path) {
  const auto a = tensors_of(a_path), b = tensors_of(b_path);
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (const auto& [name, va] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.size() != va.size()) return INFINITY;
    for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, double(std::fabs(va[i] - it->second[i])));
  }
  return worst;
}

// Runs make(options of rank r) for every rank of a W-rank job on its own thread, then
// run(callbacks(r)) (none when empty); returns each rank's trainer or its error message.
struct RankResult {
  std::unique_ptr<souplab::Trainer> trainer;
  std::string error;
};
inline std::vector<RankResult> run_job(
    int world, const std::function<std::unique_ptr<souplab::Trainer>(const souplab::DistributedOptions&)>& make,
    double timeout_s = 60, const std::function<souplab::TrainCallbacks(int rank)>& callbacks = {}) {
  std::vector<RankResult> results(static_cast<size_t>(world));
  const int port = souplab::free_local_port();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      souplab::DistributedOptions d;
      d.rank = d.local_rank = r;
      d.world_size = world;
      d.master_port = port;
      d.timeout_s = timeout_s;
      try {
        results[size_t(r)].trainer = make(d);
        results[size_t(r)].trainer->run(callbacks ? callbacks(r) : souplab::TrainCallbacks{});
      } catch (const std::exception& e) {
        results[size_t(r)].error = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace test_util
