#pragma once
// Default locations, following the XDG base directories. SOUPLAB_DATA_DIR and SOUPLAB_CACHE_DIR
// override them (tests point them at temporary folders).
#include <string>

namespace souplab {

std::string default_data_dir();      // $XDG_DATA_HOME/souplab or ~/.local/share/souplab
std::string default_cache_dir();     // $XDG_CACHE_HOME/souplab or ~/.cache/souplab
std::string default_run_log_path();  // <data dir>/runs.sqlite
// The run log a caller means: `path`, or default_run_log_path() when it is empty (the one place
// that rule lives; RunLog's constructor applies it too).
std::string run_log_path_or_default(const std::string& path);
std::string default_runs_dir();      // <data dir>/runs (one folder of checkpoints per run)
std::string default_demo_corpus_dir();  // <data dir>/demo-corpus (built by build_demo_corpus)

// Creates the folder and its parents; Error naming it if that fails.
void ensure_directory(const std::string& dir);

}  // namespace souplab
