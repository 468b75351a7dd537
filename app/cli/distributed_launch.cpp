#include "app/cli/distributed_launch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "souplab/error.h"

namespace souplab::cli {
namespace {

std::vector<pid_t> g_children;
void forward_signal(int sig) {
  for (pid_t p : g_children)
    if (p > 0) ::kill(p, sig);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) +
                                  " (" + strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

// argv without --nproc (and its value), plus what each rank needs.
std::vector<std::string> worker_argv(const Args& a, int argc, char** argv, const LocalJobPlan& plan) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--nproc") {
      ++i;
      continue;
    }
    if (s.rfind("--nproc=", 0) == 0) continue;
    out.push_back(s);
  }
  if (!a.has("threads") && out.size() > 1 && out[1] == "train") {  // resume keeps the run's threads
    out.push_back("--threads");
    out.push_back(std::to_string(plan.threads_per_rank));
  }
  return out;
}

}  // namespace

void add_distributed_flags(Args& a) {
  a.flag("nproc", "N", "train with N local processes (data parallel; --batch stays the global batch)", "1")
      .flag("rank", "R", "this process's rank in a job started by hand (with --world-size, --master)", "$RANK")
      .flag("world-size", "W", "number of ranks in the job", "$WORLD_SIZE or 1")
      .flag("master", "HOST:PORT", "where rank 0 serves the job's store", "$MASTER_ADDR:$MASTER_PORT")
      .flag("dist-timeout", "S", "a rank that is silent this long fails the job", "300")
      .option("shard-bank", "split S, E and their optimiser state over the ranks (~1/ranks of the memory each)");
}

DistributedOptions distributed_options(const Args& a) {
  DistributedOptions d = distributed_from_env();
  if (a.has("world-size")) {
    d.world_size = int(a.get_int("world-size", 1));
    if (!a.has("rank") && d.world_size > 1) a.usage_error("--world-size needs --rank");
  }
  if (a.has("rank")) d.rank = int(a.get_int("rank", 0));
  if (a.has("master")) parse_master_address(a.get("master"), &d);
  if (a.has("dist-timeout")) d.timeout_s = a.get_double("dist-timeout", d.timeout_s);
  d.shard_bank = a.has("shard-bank");
  validate(d);
  return d;
}

bool wants_local_launch(const Args& a) {
  const int64_t n = a.get_int("nproc", 1);
  if (n < 1) a.usage_error("--nproc must be >= 1, got " + std::to_string(n));
  if (n == 1) return false;
  if (a.has("rank") || a.has("world-size")) a.usage_error("--nproc starts its own ranks; do not combine it with --rank/--world-size");
  if (std::getenv("WORLD_SIZE"))
    throw Error("--nproc starts its own ranks; do not combine it with torchrun (WORLD_SIZE is set)");
  return true;
}

int launch_local_workers(const Args& a, int argc, char** argv) {
  const int nproc = int(a.get_int("nproc", 1));
  const double timeout_s = a.get_double("dist-timeout", DistributedOptions{}.timeout_s);
  const LocalJobPlan plan = plan_local_job(nproc, 0);  // souplab/distributed.h
  const int port = plan.master_port;
  std::fprintf(stderr, "starting %d ranks on 127.0.0.1:%d\n", nproc, port);
  g_children.assign(size_t(nproc), 0);
  std::signal(SIGINT, forward_signal);  // Ctrl-C or kill reaches every rank: each saves and stops
  std::signal(SIGTERM, forward_signal);
  for (int r = 0; r < nproc; ++r) {
    const std::vector<std::string> args = worker_argv(a, argc, argv, plan);
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("--nproc: fork failed: ") + std::strerror(errno));
    if (pid == 0) {
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
      std::vector<char*> cargs;
      for (const auto& s : args) cargs.push_back(const_cast<char*>(s.c_str()));
      cargs.push_back(nullptr);
      ::execv("/proc/self/exe", cargs.data());
      std::fprintf(stderr, "rank %d: cannot start %s: %s\n", r, args[0].c_str(), std::strerror(errno));
      ::_exit(127);
    }
    g_children[size_t(r)] = pid;
  }

  int exit_code = 0, running = nproc;
  std::chrono::steady_clock::time_point deadline{};
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, deadline == std::chrono::steady_clock::time_point{} ? 0 : WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {  // a rank failed earlier; the others get until the deadline to notice
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "ranks still running %.0f s after a failure: killing them\n", timeout_s + 10);
        forward_signal(SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    --running;
    int rank = 0;
    for (int r = 0; r < nproc; ++r)
      if (g_children[size_t(r)] == pid) rank = r, g_children[size_t(r)] = 0;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) std::fprintf(stderr, "rank %d %s\n", rank, describe_exit(status).c_str());
    if (!ok && exit_code == 0) {
      exit_code = WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1;
      deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(int64_t((timeout_s + 10) * 1000));
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return exit_code;
}

}  // namespace souplab::cli
