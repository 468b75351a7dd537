#!/usr/bin/env bash
# The size ladder of docs/RESULTS.md ("Specialists at every size"): each rung's soup against the
# dense model of the same size, steps, batch and seed, on the 14 domains of ../shared/corpus
# with whole sources held out (bench_specialists: held-out mixtures, one-hot domains, held-out
# target texts with histogram and fitted h), with a checkpoint every CURVE steps for the gap
# over steps. Every rung trains the same number of tokens per specialist parameter (--ratio).
#
#   bench/run_ladder.sh RUNG [--ratio R] [--seed S] [--threads N] [--only-train dense|soup|1]
#                            [--variants SPEC] [--fit 0|1] [--build-dir DIR] [--work-root DIR]
#
# RUNG: r1 = 2 layers x 64 (0.133 M specialist parameters), r2 = 4 x 128 (0.859 M),
#       r3 = 4 x 256 (3.29 M). Steps = ratio x parameters / 4,096 tokens per step.
# Training is resumable: the same command continues an interrupted model from its last
# checkpoint (bench/bench_train.h), and reuses finished ones. --only-train trains one model and
# stops, so the soup and the dense model of a rung can train side by side (one thread each);
# run without it to evaluate once both exist. Built against the PyPI libtorch (build-torch2),
# the build that trains fastest on 2 cores (docs/BENCHMARKS.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
rung=${1:?"usage: bench/run_ladder.sh r1|r2|r3 [--ratio R] [--seed S] [--threads N] [--only-train NAME]"}
shift
ratio=14.307 seed=1337 threads=2 only=0 variants="soup:train.kind=soup" fit=1
build=${SOUPLAB_LADDER_BUILD:-$src/build-torch2}
root=${SOUPLAB_LADDER_WORK:-$src/../ladder-work}
while (($# > 0)); do
  case "$1" in
    --ratio) ratio=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --only-train) only=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --fit) fit=$2; shift 2 ;;  # 0: no fitted-h column (the fit is the slow part of the evaluation at r3)
    --build-dir) build=$2; shift 2 ;;
    --work-root) root=$2; shift 2 ;;
    *) echo "run_ladder: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rung" in
  r1) layers=2 width=64 params=132992 curve=0 ;;
  r2) layers=4 width=128 params=858880 curve=500 ;;
  r3) layers=4 width=256 params=3290624 curve=1000 ;;
  *) echo "run_ladder: RUNG must be r1, r2 or r3, got $rung" >&2; exit 2 ;;
esac
steps=$(python3 -c "print(max(1, round($ratio * $params / 4096)))")
((curve > 0 && curve >= steps)) && curve=0
work="$root/$rung-ratio$ratio-seed$seed"
mkdir -p "$work"
echo "ladder $rung: L$layers C$width, $params parameters, ratio $ratio -> $steps steps, seed $seed, work $work" >&2
"$build/bench/bench_specialists" --corpus "${SOUPLAB_SHARED_CORPUS:-$src/../shared/corpus}" --work "$work" \
  --layers "$layers" --width "$width" --steps "$steps" --train-seed "$seed" --threads "$threads" \
  --curve-every "$curve" --variants "$variants" --fit "$fit" --only-train "$only" --json "$work/report.json" >"$work/report.md.tmp"
mv "$work/report.md.tmp" "$work/report.md"
cat "$work/report.md"
