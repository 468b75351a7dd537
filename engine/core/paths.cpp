#include "souplab/paths.h"

#include <cstdlib>
#include <filesystem>

#include "souplab/error.h"

namespace souplab {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

std::string xdg_dir(const char* override_var, const char* xdg_var, const char* home_suffix) {
  std::string dir = env_or_empty(override_var);
  if (!dir.empty()) return dir;
  dir = env_or_empty(xdg_var);
  if (!dir.empty()) return dir + "/souplab";
  std::string home = env_or_empty("HOME");
  if (home.empty()) home = std::filesystem::temp_directory_path().string();
  return home + home_suffix + "/souplab";
}

}  // namespace

std::string default_data_dir() { return xdg_dir("SOUPLAB_DATA_DIR", "XDG_DATA_HOME", "/.local/share"); }
std::string default_cache_dir() { return xdg_dir("SOUPLAB_CACHE_DIR", "XDG_CACHE_HOME", "/.cache"); }
std::string default_run_log_path() { return default_data_dir() + "/runs.sqlite"; }
std::string run_log_path_or_default(const std::string& path) { return path.empty() ? default_run_log_path() : path; }
std::string default_runs_dir() { return default_data_dir() + "/runs"; }
std::string default_demo_corpus_dir() { return default_data_dir() + "/demo-corpus"; }

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw file_error(dir, "cannot create folder: " + ec.message());
}

}  // namespace souplab
