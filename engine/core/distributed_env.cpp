#include "souplab/distributed.h"

#include <algorithm>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "souplab/error.h"

namespace souplab {
namespace {

int parse_int(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(what + " is \"" + text + "\", not an integer");
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

void validate(const DistributedOptions& d) {
  if (d.world_size < 1) throw Error("world size " + std::to_string(d.world_size) + " is below 1");
  if (d.rank < 0 || d.rank >= d.world_size)
    throw Error("rank " + std::to_string(d.rank) + " is outside 0.." + std::to_string(d.world_size - 1));
  if (d.local_rank < 0) throw Error("local rank " + std::to_string(d.local_rank) + " is negative");
  if (d.master_port < 1 || d.master_port > 65535)
    throw Error("master port " + std::to_string(d.master_port) + " is outside 1..65535");
  if (d.master_addr.empty()) throw Error("no master address");
  if (!(d.timeout_s > 0)) throw Error("distributed timeout must be positive");
}

LocalJobPlan plan_local_job(int ranks, int threads) {
  if (ranks < 1) throw Error("a job needs at least one rank, got " + std::to_string(ranks));
  LocalJobPlan p;
  p.ranks = ranks;
  p.master_port = free_local_port();
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  p.threads_per_rank = threads > 0 ? threads : std::max(1, cores / ranks);
  return p;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw Error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(err));
  return ntohs(addr.sin_port);
}

void parse_master_address(const std::string& text, DistributedOptions* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw Error("--master \"" + text + "\": expected HOST:PORT");
  out->master_addr = text.substr(0, colon);
  out->master_port = parse_int(text.substr(colon + 1), "the port of --master " + text);
}

DistributedOptions distributed_from_env() {
  DistributedOptions d;
  const char* world = env("WORLD_SIZE");
  if (!world) return d;
  d.world_size = parse_int(world, "WORLD_SIZE");
  const char* rank = env("RANK");
  if (!rank) throw Error("WORLD_SIZE is set but RANK is not (start the ranks with torchrun or --nproc)");
  d.rank = parse_int(rank, "RANK");
  if (const char* local = env("LOCAL_RANK")) d.local_rank = parse_int(local, "LOCAL_RANK");
  if (const char* addr = env("MASTER_ADDR")) d.master_addr = addr;
  if (const char* port = env("MASTER_PORT")) d.master_port = parse_int(port, "MASTER_PORT");
  if (const char* agent = env("TORCHELASTIC_USE_AGENT_STORE"))
    d.agent_store = std::string(agent) == "True" || std::string(agent) == "1";
  validate(d);
  return d;
}

}  // namespace souplab
