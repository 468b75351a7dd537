#pragma once
// The one exception type the engine throws for bad input or failed I/O. Messages name the
// file/value and the problem, so front ends can show them as they are.
#include <stdexcept>
#include <string>

namespace souplab {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Error for a problem with a file: "<path>: <problem>".
inline Error file_error(const std::string& path, const std::string& problem) {
  return Error(path + ": " + problem);
}

}  // namespace souplab
