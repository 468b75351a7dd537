#pragma once
// The CLI's training progress: a redrawn bar on a terminal, a line per report otherwise.
#include <cstdio>
#include <string>

#include "souplab/trainer.h"

namespace souplab::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool quiet);
  void progress(const TrainProgress& p);
  void eval(const EvalResult& r);
  void message(const std::string& m);
  void finish();

 private:
  void clear_line();
  bool quiet_, tty_;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace souplab::cli
