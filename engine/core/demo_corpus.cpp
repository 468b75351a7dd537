#include "souplab/demo_corpus.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "souplab/atomic_file.h"
#include "souplab/error.h"
#include "engine/core/staged_folder.h"
#include "souplab/paths.h"

namespace souplab {
namespace fs = std::filesystem;

size_t DemoCorpusReport::kept_domains() const {
  size_t n = 0;
  for (const DemoDomainReport& d : domains) n += d.kept ? 1 : 0;
  return n;
}

namespace {

// Where one domain's files come from: a folder (a trailing "*" in a path component picks the
// highest version among matching names, e.g. "usr/lib/python3.*"), whether to recurse, and
// which file names to take.
struct Source {
  std::string dir;
  bool recursive = false;
  std::function<bool(const std::string& name)> accept;
};

struct DomainSpec {
  std::string name, description;
  std::vector<Source> sources;
  std::function<bool(const std::string& text)> accept_text;  // optional content filter
  bool fortune_format = false;  // "%" lines separate documents
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Natural order, so "python3.11" sorts after "python3.9".
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit((unsigned char)a[i]) && std::isdigit((unsigned char)b[j])) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit((unsigned char)a[i2])) ++i2;
      while (j2 < b.size() && std::isdigit((unsigned char)b[j2])) ++j2;
      unsigned long long x = std::stoull(a.substr(i, std::min<size_t>(i2 - i, 18)));
      unsigned long long y = std::stoull(b.substr(j, std::min<size_t>(j2 - j, 18)));
      if (x != y) return x < y;
      i = i2, j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// Resolves a pattern such as "usr/lib/*/perl-base" under root to a real folder, or "". A "*"
// component tries the matching names from the highest version down, so the first that leads to
// the rest of the path wins ("x86_64-linux-gnu" rather than a higher-sorting unrelated folder).
std::string resolve_parts(const fs::path& current, const std::vector<std::string>& parts,
                          size_t i) {
  std::error_code ec;
  if (i == parts.size()) return fs::is_directory(current, ec) ? current.string() : "";
  const std::string& p = parts[i];
  const size_t star = p.find('*');
  if (star == std::string::npos) return resolve_parts(current / p, parts, i + 1);
  const std::string prefix = p.substr(0, star), suffix = p.substr(star + 1);
  std::vector<std::string> names;
  for (fs::directory_iterator it(current, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code dir_ec;
    if (name.size() >= p.size() - 1 && name.compare(0, prefix.size(), prefix) == 0 &&
        ends_with(name, suffix) && !it->is_symlink(dir_ec) && it->is_directory(dir_ec))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end(), natural_less);
  for (auto n = names.rbegin(); n != names.rend(); ++n) {
    std::string found = resolve_parts(current / *n, parts, i + 1);
    if (!found.empty()) return found;
  }
  return "";
}

std::string resolve_dir(const std::string& root, const std::string& pattern) {
  std::vector<std::string> parts;
  for (const fs::path& part : fs::path(pattern)) parts.push_back(part.string());
  return resolve_parts(fs::path(root), parts, 0);
}

// Regular files of a source in sorted path order. Symlinks are skipped: they only duplicate
// files (GPL -> GPL-3) or folders, and skipping symlinked folders rules out loops.
std::vector<std::string> list_files(const std::string& dir, const Source& src) {
  std::vector<std::string> files;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& e) {
    std::error_code e_ec;
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || e.is_symlink(e_ec) || !e.is_regular_file(e_ec)) return;
    if (!src.accept || src.accept(name)) files.push_back(e.path().string());
  };
  if (src.recursive) {
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec))
      consider(*it);
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) consider(*it);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Reads at most `cap` bytes of a file; false if it cannot be read.
bool read_prefix(const std::string& path, uint64_t cap, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: never hang on a FIFO
  if (fd < 0) return false;
  out->assign(size_t(cap), '\0');
  size_t got = 0;
  while (got < cap) {
    ssize_t n = ::read(fd, &(*out)[got], size_t(cap - got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    got += size_t(n);
  }
  ::close(fd);
  out->resize(got);
  return true;
}

bool is_shell_script(const std::string& text) {
  const size_t eol = text.find('\n');
  const std::string line = text.substr(0, std::min<size_t>(eol, 80));
  if (line.compare(0, 2, "#!") != 0) return false;
  for (const char* sh : {"/sh", "/bash", "/dash", "env sh", "env bash"}) {
    const size_t at = line.find(sh);
    if (at == std::string::npos) continue;
    const size_t after = at + std::strlen(sh);
    if (after == line.size() || line[after] == ' ' || line[after] == '\r') return true;
  }
  return false;
}

std::vector<DomainSpec> demo_domains() {
  auto suffix = [](std::vector<std::string> sfx) {
    return [sfx](const std::string& name) {
      for (const std::string& s : sfx)
        if (ends_with(name, s)) return true;
      return false;
    };
  };
  auto named = [](const std::string& n) { return [n](const std::string& name) { return name == n; }; };
  std::vector<DomainSpec> d;
  d.push_back({"licenses", "licence texts: usr/share/common-licenses, usr/share/doc/*/copyright",
               {{"usr/share/common-licenses", false, {}},
                {"usr/share/doc", true, named("copyright")}}, {}, false});
  d.push_back({"code_c", "C headers of the C library and friends: usr/include/*.h, usr/include/linux",
               {{"usr/include", false, suffix({".h"})},
                {"usr/include/linux", true, suffix({".h"})}}, {}, false});
  d.push_back({"code_cpp", "C++ standard library headers: usr/include/c++/<version>",
               {{"usr/include/c++/*", true, {}}}, {}, false});
  d.push_back({"code_python", "Python standard library: usr/lib/python3.<version>/*.py",
               {{"usr/lib/python3.*", false, suffix({".py"})}}, {}, false});
  d.push_back({"code_cmake", "CMake modules: usr/share/cmake-<version>/Modules",
               {{"usr/share/cmake-*/Modules", true, suffix({".cmake"})}}, {}, false});
  d.push_back({"code_perl", "Perl modules: usr/share/perl/<version>, usr/lib/*/perl-base",
               {{"usr/share/perl/*", true, suffix({".pm", ".pl"})},
                {"usr/lib/*/perl-base", true, suffix({".pm", ".pl"})}}, {}, false});
  d.push_back({"shell_scripts", "shell scripts (#!/bin/sh, bash) in usr/bin and usr/sbin",
               {{"usr/bin", false, {}}, {"usr/sbin", false, {}}}, is_shell_script, false});
  d.push_back({"fortunes_en", "fortune cookies: usr/share/games/fortunes (packages fortunes, fortunes-min)",
               {{"usr/share/games/fortunes", false,
                 [](const std::string& n) { return n.find('.') == std::string::npos; }}},
               {}, true});
  return d;
}

// The documents of one file's text: the whole text, or for the fortune format one document per
// fortune ("%" lines separate them). A line holding only a form feed would split a document when
// read back, so its form feed is dropped (it becomes an empty line).
std::vector<std::string> documents_of(const std::string& text, bool fortune_format) {
  std::vector<std::string> docs(1);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const size_t end = eol == std::string::npos ? text.size() : eol + 1;
    std::string line = text.substr(pos, end - pos);
    pos = end;
    const std::string bare = line.substr(0, line.find_last_not_of("\r\n") + 1);
    if (fortune_format && bare == "%") {
      docs.emplace_back();
      continue;
    }
    if (bare == "\f") line.erase(0, 1);
    docs.back() += line;
  }
  std::vector<std::string> kept;
  for (std::string& d : docs) {
    if (d.find_first_not_of(" \t\r\n\f") == std::string::npos) continue;
    if (d.back() != '\n') d += '\n';
    kept.push_back(std::move(d));
  }
  return kept;
}

struct BuiltDomain {
  std::string data, index;  // data.txt and docs.tsv
};

BuiltDomain build_domain(const DomainSpec& spec, const DemoCorpusOptions& o,
                         DemoDomainReport* report, std::vector<std::string>* notes) {
  BuiltDomain out;
  bool any_source = false, full = false;
  std::string text;
  for (const Source& src : spec.sources) {
    const std::string dir = resolve_dir(o.source_root, src.dir);
    if (dir.empty()) continue;
    any_source = true;
    for (const std::string& file : list_files(dir, src)) {
      if (full || report->bytes >= o.max_bytes_per_domain) break;
      // A content filter looks at the first line only: no need to read whole binaries for it.
      if (spec.accept_text) {
        if (!read_prefix(file, 256, &text)) {
          ++report->skipped_unreadable;
          continue;
        }
        if (!spec.accept_text(text)) continue;
      }
      if (!read_prefix(file, o.max_bytes_per_file, &text)) {
        ++report->skipped_unreadable;
        continue;
      }
      if (text.find('\0') != std::string::npos) {
        ++report->skipped_binary;
        continue;
      }
      // A cut file ends at its last whole line.
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && uint64_t(st.st_size) > text.size()) {
        const size_t nl = text.rfind('\n');
        text.resize(nl == std::string::npos ? 0 : nl + 1);
      }
      for (std::string& doc : documents_of(text, spec.fortune_format)) {
        const uint64_t room = o.max_bytes_per_domain - report->bytes;
        if (doc.size() > room) {  // the last document is cut at a line end to fit the cap
          const size_t nl = room > 0 ? doc.rfind('\n', size_t(room) - 1) : std::string::npos;
          if (nl == std::string::npos) {
            full = true;  // not even one line fits: the domain is complete
            break;
          }
          doc.resize(nl + 1);
        }
        out.index += std::to_string(report->documents) + "\t" + std::to_string(out.data.size()) +
                     "\t" + std::to_string(doc.size()) + "\t" + file + "\n";
        out.data += doc;
        out.data += "\f\n";
        report->bytes += doc.size();
        ++report->documents;
      }
    }
  }
  if (!any_source)
    notes->push_back(spec.name + ": dropped, no source folder on this system");
  else if (report->bytes == 0)
    notes->push_back(spec.name + ": dropped, no text found in its source folders");
  return out;
}

std::string readme_text(const DemoCorpusReport& r, const DemoCorpusOptions& o) {
  std::string s =
      "SoupLab demo corpus\n"
      "===================\n\n"
      "Built by SoupLab from plain-text files that Debian packages installed on this machine;\n"
      "none of it was written by SoupLab. Each file keeps the licence of the package it came\n"
      "from (see usr/share/doc/<package>/copyright). Layout: <domain>/data.txt holds the\n"
      "documents, each followed by a line with only a form feed; <domain>/docs.tsv lists\n"
      "index, byte offset, length and source file of each document.\n\n"
      "Caps: " + std::to_string(o.max_bytes_per_domain) + " bytes per domain, " +
      std::to_string(o.max_bytes_per_file) + " bytes per file.\n\nDomains:\n";
  for (const DemoDomainReport& d : r.domains) {
    if (!d.kept) continue;
    s += "- " + d.name + ": " + std::to_string(d.documents) + " documents, " +
         std::to_string(d.bytes) + " bytes. " + d.description + "\n";
  }
  if (!r.notes.empty()) {
    s += "\nNotes:\n";
    for (const std::string& n : r.notes) s += "- " + n + "\n";
  }
  return s;
}

}  // namespace

DemoCorpusReport build_demo_corpus(const std::string& out_dir, const DemoCorpusOptions& options,
                                   const DemoCorpusProgress& progress) {
  if (options.max_bytes_per_domain == 0 || options.max_bytes_per_file == 0)
    throw Error("demo corpus caps must be > 0");
  // Rebuilding replaces the old corpus as a whole, never leaving a half-built one.
  StagedFolder staged(out_dir, /*overwrite=*/true);
  const std::string& tmp = staged.path();
  const fs::path target(staged.target());

  DemoCorpusReport report;
  const std::vector<DomainSpec> specs = demo_domains();
  for (size_t i = 0; i < specs.size(); ++i) {
    const DomainSpec& spec = specs[i];
    if (progress) progress(i, specs.size(), "collecting " + spec.name);
    DemoDomainReport d;
    d.name = spec.name;
    d.description = spec.description;
    BuiltDomain built = build_domain(spec, options, &d, &report.notes);
    if (d.skipped_binary || d.skipped_unreadable)
      report.notes.push_back(spec.name + ": skipped " + std::to_string(d.skipped_binary) +
                             " binary and " + std::to_string(d.skipped_unreadable) +
                             " unreadable files");
    if (d.bytes < options.min_bytes_per_domain) {
      if (d.bytes > 0)
        report.notes.push_back(spec.name + ": dropped, only " + std::to_string(d.bytes) +
                               " bytes of text (need " +
                               std::to_string(options.min_bytes_per_domain) + ")");
    } else {
      const std::string dir = tmp + "/" + spec.name;
      ensure_directory(dir);
      write_file_atomically(dir + "/data.txt", built.data);
      write_file_atomically(dir + "/docs.tsv", built.index);
      d.kept = true;
    }
    report.domains.push_back(d);
  }
  if (report.kept_domains() < 2)
    throw file_error(target.string(),
                     "cannot build the demo corpus: only " +
                         std::to_string(report.kept_domains()) +
                         " domain(s) with enough text on this system (need 2)");
  write_file_atomically(tmp + "/README.txt", readme_text(report, options));
  staged.commit();
  if (progress) progress(specs.size() - 1, specs.size(), "demo corpus written to " + target.string());
  return report;
}

}  // namespace souplab
