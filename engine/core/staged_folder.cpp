#include "engine/core/staged_folder.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "souplab/atomic_file.h"
#include "souplab/error.h"

namespace souplab {
namespace {

namespace fs = std::filesystem;

// A hidden sibling name no other process picks: ".<name>.<tag>-<pid>-<random>".
fs::path sibling(const fs::path& target, const std::string& tag) {
  std::random_device rd;
  return target.parent_path() /
         ("." + target.filename().string() + "." + tag + "-" + std::to_string(::getpid()) + "-" +
          std::to_string(rd()));
}

// rename(2) that refuses to replace an existing target (rename would silently replace an
// empty folder that appeared meanwhile). Falls back to rename where the file system lacks it.
int rename_noreplace(const fs::path& from, const fs::path& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (fs::exists(fs::symlink_status(to))) {
    errno = EEXIST;
    return -1;
  }
#endif
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

StagedFolder::StagedFolder(const std::string& target, bool overwrite) : overwrite_(overwrite) {
  if (target.empty()) throw Error("no output folder given");
  fs::path t = fs::absolute(fs::path(target)).lexically_normal();
  if (t.filename().empty()) t = t.parent_path();  // "out/" -> "out"
  target_ = t.string();
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(t, ec);
  if (fs::exists(st)) {
    if (!overwrite) throw file_error(target_, "already exists; choose another folder or allow overwriting");
    if (!fs::is_directory(st)) throw file_error(target_, "exists and is not a folder; not replacing it");
  }
  fs::create_directories(t.parent_path(), ec);
  if (ec)
    throw file_error(target_, "cannot create its parent folder " + t.parent_path().string() + ": " + ec.message());
  const fs::path tmp = sibling(t, "staging");
  if (!fs::create_directory(tmp, ec) || ec)
    throw file_error(target_, "cannot create the temporary folder " + tmp.string() + ": " +
                                  (ec ? ec.message() : "it already exists"));
  tmp_ = tmp.string();
}

StagedFolder::~StagedFolder() {
  std::error_code ec;
  if (!committed_) fs::remove_all(tmp_, ec);
}

void StagedFolder::commit() {
  const fs::path target(target_), tmp(tmp_);
  sync_directory(tmp_);
  if (fs::exists(fs::symlink_status(target))) {
    if (!overwrite_) throw file_error(target_, "appeared while it was being written; not replacing it");
    const fs::path old = sibling(target, "old");
    if (::rename(target.c_str(), old.c_str()) != 0)
      throw file_error(target_, std::string("cannot move the old folder aside: ") + std::strerror(errno));
    if (rename_noreplace(tmp, target) != 0) {
      const std::string why = std::strerror(errno);
      ::rename(old.c_str(), target.c_str());  // put the old folder back
      throw file_error(target_, "cannot move the new folder into place: " + why);
    }
    std::error_code ec;
    fs::remove_all(old, ec);  // the new folder is in place; a leftover is only clutter
  } else if (rename_noreplace(tmp, target) != 0) {
    throw file_error(target_, std::string("cannot move the folder into place: ") + std::strerror(errno));
  }
  committed_ = true;
  sync_directory(target.parent_path().string());
}

}  // namespace souplab
