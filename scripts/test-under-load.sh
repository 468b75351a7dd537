#!/usr/bin/env bash
# The suite on a busy machine (issue 28): runs the whole CTest suite RUNS times in a row at
# `ctest -j2` while `souplab-cli train --threads 2` trains beside it, and says how long each
# pass took. A test that waits a fixed time instead of on the event it needs fails here first.
#   scripts/test-under-load.sh [--runs N] [--torch debian|pypi] [ctest arguments]
# Builds like scripts/run-tests.sh (which installs what is missing); trains on ../shared/corpus
# when it is beside the repository, else on the demo corpus. Exits non-zero if any pass failed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
args=()
while (($# > 0)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
source scripts/torch-choice.sh "${args[@]}"
bash scripts/install-deps.sh
venv=$(bash scripts/install-py-tools.sh)
bash scripts/configure-and-build.sh --torch "$torch_kind" "-DSOUPLAB_PY_VENV=$venv"
export SOUPLAB_REQUIRE_TEST_TOOLS=1 SOUPLAB_PY_VENV="$venv"

# The load: a training that outlasts the passes, in its own data folder.
load_dir=$(mktemp -d)
trap 'kill "$trainer" 2>/dev/null || true; wait "$trainer" 2>/dev/null || true; rm -rf "$load_dir"' EXIT
corpus=../shared/corpus
if [[ ! -d $corpus ]]; then
  SOUPLAB_DATA_DIR="$load_dir/data" "$build/app/souplab-cli" corpus demo >/dev/null
  corpus="$load_dir/data/demo-corpus"
fi
SOUPLAB_DATA_DIR="$load_dir/data" SOUPLAB_CACHE_DIR="$load_dir/cache" \
  "$build/app/souplab-cli" train --corpus "$corpus" --threads 2 --steps 10000000 --eval-interval 500 \
  --checkpoint-interval 1000 --quiet --out "$load_dir/run" >"$load_dir/train.log" 2>&1 &
trainer=$!
sleep 5
kill -0 "$trainer" 2>/dev/null || { echo "test-under-load: the training did not start:" >&2; cat "$load_dir/train.log" >&2; exit 1; }

failed=0
for ((i = 1; i <= runs; i++)); do
  began=$(date +%s)
  if (cd "$build" && ctest --output-on-failure --timeout 1200 -j 2 "${rest[@]}"); then result=passed; else result=FAILED failed=1; fi
  echo "== pass $i of $runs: $result in $(($(date +%s) - began)) s, beside souplab-cli train --threads 2"
done
kill -0 "$trainer" 2>/dev/null || { echo "test-under-load: the training ended early:" >&2; tail -5 "$load_dir/train.log" >&2; failed=1; }
exit $failed
