#!/usr/bin/env bash
# The engine's test suites (labels core, export, nn, merge; not the GUI or shell tests) under
# AddressSanitizer + UndefinedBehaviorSanitizer (-DSOUPLAB_SANITIZE=ON), in build-asan/.
# CI runs it after the main suite (.ci/run); it builds only the engine and those test targets.
#   scripts/run-sanitized-tests.sh [extra ctest arguments]    (SOUPLAB_ASAN_BUILD_DIR overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SOUPLAB_ASAN_BUILD_DIR:-build-asan}
labels='core|export|nn|merge'
exclude='^cli_'  # shell tests drive the CLI; the engine suites cover the same code
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
# Release + -g1: sanitizer reports keep function names and lines, the build stays affordable.
# The export suites run the exports in onnxruntime and transformers from the PyPI venv.
venv=$(bash scripts/install-py-tools.sh)
cmake -S . -B "$build" "${generator[@]}" -DSOUPLAB_SANITIZE=ON -DSOUPLAB_BUILD_GUI=OFF -DSOUPLAB_PY_VENV="$venv" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -g1 -DNDEBUG" >/dev/null
mapfile -t tests < <(cd "$build" && ctest -N -L "$labels" -E "$exclude" | sed -n 's/^ *Test *#[0-9]*: //p')
cmake --build "$build" -j "${SOUPLAB_JOBS:-$(nproc)}" --target "${tests[@]}"
# libtorch and OpenBLAS are not instrumented and keep some allocations for the process' life:
# leak reports from them are noise, so leak detection is off; every other ASan/UBSan report fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 1800 -j 2 -L "$labels" -E "$exclude" "$@"
