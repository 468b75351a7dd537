#!/bin/sh
# Builds bench_quality and regenerates the quality table of docs/RESULTS.md (docs/DESIGN.md §4.3, "Quality
# on the real corpus"): soup specialists vs generic, oracle and linearly merged dense models.
# The generated part sits between the "bench_quality" markers; the text around it is kept.
#
#   bench/run_quality.sh [--quick] [--build-dir DIR] [--no-build] [--work DIR] [bench flags...]
#
# Any other flag goes to bench_quality (--corpus DIR, --domains a,b,c, --steps N, --jobs N,
# --ablate "steps=2x;n=4", --fresh 1, ...). Trained models are kept in --work and reused when
# their configuration is unchanged; pass --fresh 1 to retrain everything.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="$src/../build-quality"
work="$src/../quality-work"
do_build=1
out="$src/docs/RESULTS.md"
extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build="$2"; shift ;;
    --no-build) do_build=0 ;;
    --work) work="$2"; shift ;;
    --out) out="$2"; shift ;;
    --quick) extra="$extra --quick" ;;
    --*) extra="$extra $1 $2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$do_build" = 1 ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF \
        -DSOUPLAB_BUILD_TESTS=OFF -DSOUPLAB_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target bench_quality -j2
fi

corpus="${SOUPLAB_SHARED_CORPUS:-$src/../shared/corpus}"
mkdir -p "$work"
# Keep the runs out of the user's run log and cache.
export SOUPLAB_DATA_DIR="$work/data" SOUPLAB_CACHE_DIR="$work/cache"
# shellcheck disable=SC2086
"$build/bench/bench_quality" --corpus "$corpus" --work "$work" --out "$out" $extra
