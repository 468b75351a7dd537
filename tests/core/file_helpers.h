#pragma once
// What the core tests do with files and errors: write a file (making its folders), read one
// back whole, and the message of the Error a call throws.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "souplab/error.h"

namespace test_util {

inline void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message of the souplab::Error `f` throws, or "<no error>".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const souplab::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace test_util
