#include "souplab/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "souplab/error.h"

namespace souplab {
namespace fs = std::filesystem;

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

void sync_directory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // not all file systems allow it; the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::string& path,
                           const std::function<void(const ChunkWriter&)>& produce) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
              std::to_string(rd())))
          .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw file_error(path, "cannot create a temporary file in " + dir.string() + ": " + errno_text());
  // Every failure path below ends in the catch block, which closes and removes the
  // temporary file exactly once.
  try {
    produce([&](const void* data, size_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw file_error(path, "write failed: " + errno_text());
        }
        p += n;
        size -= size_t(n);
      }
    });
    if (::fsync(fd) != 0) throw file_error(path, "fsync failed: " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw file_error(path, "close failed: " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string msg = errno_text();
    ::unlink(tmp.c_str());
    throw file_error(path, "rename failed: " + msg);
  }
  sync_directory(dir.string());
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  write_file_atomically(path, [&](const ChunkWriter& w) { w(contents.data(), contents.size()); });
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw file_error(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, std::string("cannot open: ") + errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw file_error(path, "read failed");
  return ss.str();
}

}  // namespace souplab
