#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt) with clang, writes the seed corpus and runs
# every target for SECONDS (default 60) each, or with --runs N until N executions (SECONDS then
# caps each target). Prints each target's executions, coverage and seconds. Exits non-zero if
# clang is missing, the build fails, any target finds a crash, a sanitizer report, a leak or a
# timeout (the input that did it is kept in build-fuzz/artifacts/), or --runs is not reached.
#   fuzz/build-and-run.sh [SECONDS] [--runs N]   (SOUPLAB_FUZZ_BUILD_DIR: build folder, default build-fuzz)
# Crash inputs found once are kept under fuzz/regressions/TARGET/ and replayed first every run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=60 runs=0
while (($# > 0)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) seconds=$1; shift ;;
  esac
done
build=${SOUPLAB_FUZZ_BUILD_DIR:-$root/build-fuzz}

cxx=""
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null 2>&1; then cxx=$(command -v "$c"); break; fi
done
if [[ -z "$cxx" ]]; then
  echo "FUZZ: FAILED: clang++ not found. Install the Debian packages clang and libclang-rt-14-dev" >&2
  echo "      (scripts/install-deps.sh installs them)." >&2
  exit 1
fi
if ! "$cxx" -fsanitize=fuzzer -x c++ - -o /dev/null <<<'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' 2>/dev/null; then
  echo "FUZZ: FAILED: $cxx cannot link -fsanitize=fuzzer; install libclang-rt-14-dev." >&2
  exit 1
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
cmake --build "$build" -j "${SOUPLAB_FUZZ_JOBS:-2}"

seeds=$build/seeds
rm -rf "$seeds"
"$build/make_fuzz_seeds" "$seeds"
mkdir -p "$build/artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=""
for target in safetensors checkpoint_meta manifest config gpt2_config documents import; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  log=$build/fuzz_$target.log
  regressions=()
  [[ -d $here/regressions/$target ]] && regressions=("$here/regressions/$target")
  limit=(-max_total_time="$seconds")
  ((runs > 0)) && limit+=(-runs="$runs")
  echo "== fuzz_$target: ${seconds}s$( ((runs > 0)) && echo " or $runs executions")"
  began=$(date +%s)
  set +e
  "$build/fuzz_$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/${target}-" \
      "$corpus" "$seeds/$target" "${regressions[@]}" >"$log" 2>&1
  rc=$?
  set -e
  took=$(($(date +%s) - began))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "FUZZ: fuzz_$target FAILED (exit $rc); log $log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" >&2 || tail -30 "$log" >&2
  elif ((runs > 0)) && (( ${execs:-0} < runs )); then
    status=1
    echo "FUZZ: fuzz_$target reached ${execs:-0} of $runs executions in ${seconds}s" >&2
  fi
  summary+="fuzz_$target: ${execs:-?} executions in $took s, ${cov:-cov ?}, exit $rc"$'\n'
done
echo "== summary"
printf '%s' "$summary"
exit $status
