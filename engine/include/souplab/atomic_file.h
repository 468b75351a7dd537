#pragma once
// Crash-safe file writes: write to a temporary name beside the target, fsync it, rename it over
// the target, fsync the directory. A reader sees the old file or the new one, never a mix.
#include <cstddef>
#include <functional>
#include <string>

namespace souplab {

// Streams the contents through `write(const void*, size_t)` calls made by `produce`.
// Throws Error naming `path` on any failure; the temporary file is removed then.
using ChunkWriter = std::function<void(const void* data, size_t size)>;
void write_file_atomically(const std::string& path,
                           const std::function<void(const ChunkWriter&)>& produce);

void write_file_atomically(const std::string& path, const std::string& contents);

// fsync a directory so a rename inside it is durable.
void sync_directory(const std::string& dir);

// Reads a whole file; Error naming the path if it cannot.
std::string read_file(const std::string& path);

}  // namespace souplab
