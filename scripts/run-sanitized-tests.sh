#!/usr/bin/env bash
# The engine's test suites under AddressSanitizer + UndefinedBehaviorSanitizer
# (-DSOUPLAB_SANITIZE=ON), command line only, in build-asan/. Not part of CI's default run:
# libtorch under ASan makes the build and the tests several times slower.
#   scripts/run-sanitized-tests.sh [extra ctest arguments]    (SOUPLAB_ASAN_BUILD_DIR overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SOUPLAB_ASAN_BUILD_DIR:-build-asan}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DSOUPLAB_SANITIZE=ON -DSOUPLAB_BUILD_GUI=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "${SOUPLAB_JOBS:-2}"
# libtorch and OpenBLAS are not instrumented and keep some allocations for the process' life:
# leak reports from them are noise, so leak detection is off; every other ASan/UBSan report fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 3600 -j 2 -L 'core|export|nn' "$@"
