#!/usr/bin/env bash
# Builds the Debian package build/souplab_<version>_<arch>.deb (or in $SOUPLAB_BUILD_DIR):
# configures the build folder if needed, builds the packaged programs, runs cpack.
# Extra arguments go to cmake's configure step (e.g. -DSOUPLAB_BUILD_GUI=OFF for a CLI-only
# package). Install the result with:  sudo apt install ./build/souplab_*.deb
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
# The `deb` target builds only what the package holds (not the test suites), then runs cpack.
cmake --build "$build" --target deb -j "$(nproc)"
ls -l "$build"/souplab_*.deb
