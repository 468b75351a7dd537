#!/usr/bin/env bash
# Configures and builds SoupLab into ./build (or $SOUPLAB_BUILD_DIR) with every core.
# Extra arguments go to cmake's configure step (e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch-cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SOUPLAB_BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif (($# > 0)); then
  cmake -S . -B "$build" "$@"
fi
cmake --build "$build" -j "$(nproc)"
