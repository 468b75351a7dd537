#include "app/cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace souplab::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = long(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

ProgressBar::ProgressBar(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

void ProgressBar::clear_line() {
  if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

void ProgressBar::progress(const TrainProgress& p) {
  if (quiet_) return;
  const double frac = p.total_steps > 0 ? double(p.step) / double(p.total_steps) : 0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%6lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  elapsed %s  ETA %s",
                static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.train_loss,
                p.lr, p.tokens_per_sec, format_duration(p.elapsed_s).c_str(),
                format_duration(p.eta_s).c_str());
  std::string line = buf;
  if (p.world_size > 1) {  // each rank's own rate: a slow rank holds the job back
    line += "  ranks:";
    for (double r : p.rank_tokens_per_sec) line += " " + std::to_string(std::lround(r));
  }
  if (tty_) {
    const int width = 30, filled = int(std::lround(frac * width));
    clear_line();
    std::fprintf(stderr, "[%s%s] %s", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), line.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::eval(const EvalResult& r) {
  if (quiet_) return;
  clear_line();
  std::fprintf(stderr, "step %lld validation loss (nats/byte):\n", static_cast<long long>(r.step));
  const bool soup = !r.loss_specialist.empty();
  std::fprintf(stderr, "  %-20s %10s%s\n", "domain", soup ? "uniform h" : "loss",
               soup ? "  one-hot h" : "");
  for (size_t i = 0; i < r.domains.size(); ++i) {
    if (soup)
      std::fprintf(stderr, "  %-20s %10.4f %10.4f\n", r.domains[i].c_str(), r.loss_uniform[i],
                   r.loss_specialist[i]);
    else
      std::fprintf(stderr, "  %-20s %10.4f\n", r.domains[i].c_str(), r.loss_uniform[i]);
  }
}

void ProgressBar::message(const std::string& m) {
  if (quiet_) return;
  clear_line();
  std::fprintf(stderr, "%s\n", m.c_str());
}

void ProgressBar::finish() {
  if (tty_ && drawn_) std::fputs("\n", stderr);
  drawn_ = false;
}

}  // namespace souplab::cli
