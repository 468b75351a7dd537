#!/usr/bin/env bash
# The Debian packages a build of SoupLab's CLI and engine needs besides libtorch, carried to a
# machine that has no package manager and no network (a cloud GPU image, an HPC compute node:
# nvcc, CMake, ninja and python3's PyTorch are there, these headers are not).
#
#   scripts/gpu-node-deps.sh fetch [DIR]            on a Debian 12 machine with the network: download
#                                                   the .debs into DIR (default: gpu-node-debs/,
#                                                   ignored by git, travels with the source tree)
#   scripts/gpu-node-deps.sh unpack DIR PREFIX      on the GPU node: `dpkg -x` each .deb into PREFIX
#                                                   (no root, no dpkg database); prints the CMake
#                                                   arguments that point the build at it
#   scripts/gpu-node-deps.sh missing                which of the headers are not installed here
#
# The runtime libraries come along (libsqlite3, libprotobuf, libonnx): the binaries find them
# through the build's RPATH, which CMake sets to the prefix's library folder. They are Debian 12's
# (glibc >= 2.34): a node with an older glibc needs its own packages of these libraries.
set -euo pipefail

# package -> a file it installs that the build needs (to tell whether the system has it already)
packages=(
  "libsqlite3-dev:/usr/include/sqlite3.h" "libsqlite3-0:"
  "nlohmann-json3-dev:/usr/include/nlohmann/json.hpp"
  "libonnx-dev:/usr/include/onnx/onnx_pb.h" "libonnx1:" "libonnxifi:"
  "libprotobuf-dev:/usr/include/google/protobuf/message.h" "libprotobuf32:" "libprotobuf-lite32:"
  "zlib1g-dev:/usr/include/zlib.h"
  "libxxhash-dev:/usr/include/xxhash.h" "libxxhash0:"
  "libgloo-dev:/usr/include/gloo/config.h"
)

names() { for p in "${packages[@]}"; do echo "${p%%:*}"; done; }

case "${1:-}" in
  fetch)
    dir=${2:-gpu-node-debs}
    mkdir -p "$dir"
    # shellcheck disable=SC2046
    (cd "$dir" && apt-get download $(names))
    du -sh "$dir"
    ;;
  unpack)
    dir=${2:?"usage: scripts/gpu-node-deps.sh unpack DIR PREFIX"}
    prefix=${3:?"usage: scripts/gpu-node-deps.sh unpack DIR PREFIX"}
    shopt -s nullglob
    debs=("$dir"/*.deb)
    ((${#debs[@]} > 0)) || { echo "gpu-node-deps: no .deb files in $dir (run 'fetch' where there is a network)" >&2; exit 1; }
    mkdir -p "$prefix"
    for d in "${debs[@]}"; do dpkg-deb -x "$d" "$prefix" 2>/dev/null || dpkg -x "$d" "$prefix"; done
    # The -dev packages' .so links are absolute-free (relative), but a few point into /lib:
    # re-point any link that leaves the prefix to the file of the same name inside it.
    while IFS= read -r link; do
      target=$(readlink "$link")
      [[ "$target" == /* && -e "$prefix$target" ]] && ln -sfn "$prefix$target" "$link"
    done < <(find "$prefix" -type l)
    echo "-DCMAKE_PREFIX_PATH=$prefix/usr -DCMAKE_INCLUDE_PATH=$prefix/usr/include -DCMAKE_LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu"
    ;;
  missing)
    for p in "${packages[@]}"; do
      file=${p#*:}
      [[ -z "$file" || -e "$file" ]] || echo "${p%%:*}"
    done
    ;;
  *)
    echo "usage: scripts/gpu-node-deps.sh fetch [DIR] | unpack DIR PREFIX | missing" >&2
    exit 2
    ;;
esac
