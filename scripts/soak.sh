#!/usr/bin/env bash
# The soak of the app (issue 28): the explorer on the default bank while a training runs, driven
# by random user actions for MINUTES; RSS, GUI-thread stalls, training throughput and the run
# log's integrity against their goals (tests/reliability/test_soak.cpp says which).
#   scripts/soak.sh [MINUTES] [BUILD_DIR]        (defaults: 30 and build)
# Environment: SOUPLAB_SOAK_DIR (where the bank is trained and kept, and the reports are
# written; default ~/.cache/souplab/soak), SOUPLAB_SOAK_SEED (the action sequence; default 28).
# CTest never runs the soak (the test is DISABLED): this script is the way to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
minutes=${1:-30}
build=${2:-build}
soak_dir=${SOUPLAB_SOAK_DIR:-$HOME/.cache/souplab/soak}
mkdir -p "$soak_dir"

# Only the two targets the soak runs: the build folder is configured already (scripts/
# configure-and-build.sh), and a whole-tree build is not this script's business.
cmake --build "$build" --target test_soak souplab-cli

# Where CMake put them (tests/ and app/ of the build folder), else wherever they are in it.
binary() {
  local name=$1 expected=$2
  if [ -x "$expected" ]; then echo "$expected"; return; fi
  local found
  found=$(find "$build" -type f -name "$name" -perm -u+x -print -quit)
  [ -n "$found" ] || { echo "soak: $name not found under $build" >&2; exit 1; }
  echo "$found"
}
test_bin=$(binary test_soak "$build/tests/test_soak")
cli=$(binary souplab-cli "$build/app/souplab-cli")

# The corpus: the shared one beside the repository when there is one (the corpus the project's
# figures come from), else the demo corpus, built once from text installed on this machine.
if [ -d "$root/../shared/corpus" ]; then
  corpus=$(cd "$root/../shared/corpus" && pwd)
  bank_dir="$soak_dir/bank-shared"
else
  corpus="${SOUPLAB_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/souplab}/demo-corpus"
  [ -d "$corpus" ] || "$cli" corpus demo --out "$corpus"
  bank_dir="$soak_dir/bank-demo"
fi

# The bank to explore: the default config (what a user trains first), one thread as the soak's
# training uses. Trained once and reused: DONE is written only after a training that ended, so
# a run interrupted half-way is trained again rather than explored half-trained. Its own run log
# keeps the user's run browser free of soak runs.
if [ ! -f "$bank_dir/DONE" ]; then
  rm -rf "${bank_dir:?}"
  mkdir -p "$bank_dir"
  echo "soak: training the default bank on $corpus into $bank_dir (once; reused by later soaks)" >&2
  "$cli" train --corpus "$corpus" --out "$bank_dir" --threads 1 --quiet --run-log "$soak_dir/bank-runs.sqlite"
  touch "$bank_dir/DONE"
fi
checkpoints=("$bank_dir"/step_*.ckpt)  # step_%08d.ckpt: the last in name order is the last step
bank=${checkpoints[${#checkpoints[@]}-1]}
[ -f "$bank" ] || { echo "soak: no checkpoint in $bank_dir (remove the folder to train again)" >&2; exit 1; }

report="$soak_dir/report-$(date +%Y%m%d-%H%M%S).json"
export SOUPLAB_SOAK_MINUTES="$minutes" SOUPLAB_SOAK_BANK="$bank" SOUPLAB_SOAK_CORPUS="$corpus"
export SOUPLAB_SOAK_REPORT="$report" SOUPLAB_SOAK_SEED="${SOUPLAB_SOAK_SEED:-28}"
echo "soak: $minutes minutes exploring $bank while training on $corpus" >&2

# A real X server (Xvfb) of a laptop's size, as the layout test uses: the stalls measured are
# those of a window that is drawn. Offscreen where Xvfb is missing (drawing is then cheaper).
# The test's own failure must not stop the script before it prints the report: its status is
# kept and returned at the end.
status=0
if command -v xvfb-run >/dev/null; then
  QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1366x768x24' "$test_bin" || status=$?
else
  echo "soak: xvfb-run not found, running offscreen" >&2
  QT_QPA_PLATFORM=offscreen "$test_bin" || status=$?
fi

if [ -f "$report" ]; then
  echo "soak: report $report" >&2
  cat "$report"
else
  echo "soak: the test wrote no report" >&2
fi
exit "$status"
