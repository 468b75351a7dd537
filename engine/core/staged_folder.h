#pragma once
// A folder that appears complete or not at all: it is written in a hidden temporary sibling and
// renamed into place by commit(), after any folder already there has been moved aside (and is
// put back if the rename fails). Exports, post-hoc builds and the demo corpus are written this
// way, so a crash or an error never leaves a half-written folder under the final name.
#include <string>

namespace souplab {

class StagedFolder {
 public:
  // Refuses, with an Error naming the folder, a `target` that exists unless `overwrite`, and one
  // that exists and is not a folder. Creates the parent folders and the temporary folder.
  StagedFolder(const std::string& target, bool overwrite);
  ~StagedFolder();  // removes the temporary folder unless committed
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;

  const std::string& path() const { return tmp_; }       // where to write
  const std::string& target() const { return target_; }  // absolute, normalised

  // fsyncs the temporary folder, swaps it in for the target and fsyncs the parent. The old
  // folder, if any, is deleted once the new one is in place.
  void commit();

 private:
  std::string target_, tmp_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace souplab
