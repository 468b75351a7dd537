#!/usr/bin/env bash
# Data-parallel training from the command line:  test_distributed_cli.sh SOUPLAB_CLI SOURCE_DIR
# - `train --nproc 2` trains one run (one entry in the run log) that matches one process with
#   the same global batch (per-domain losses to 1e-3; tests/nn/test_distributed.cpp checks the
#   parameters to 1e-4);
# - a rank killed with SIGKILL mid-run: the job exits non-zero within its --dist-timeout with an
#   error naming the rank, and the last checkpoint resumes on one process;
# - a rank hung (SIGSTOP): the survivor's collective times out, the job exits non-zero;
# - torchrun of this build's libtorch version (TORCHRUN, or the torch2 venv's), when there is one;
# - two "hosts": the ranks in two network namespaces joined by a veth pair (needs root and
#   `ip netns`; skipped with a message otherwise).
set -uo pipefail

cli=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/souplab-dist-test.XXXXXX")
job=0
ns=souplab-test-$$
# The processes whose parent is $1, from /proc (no procps on a minimal system).
children_of() {
  local stat
  for stat in /proc/[0-9]*/stat; do
    awk -v parent="$1" '{ sub(/^.*\) /, ""); if ($2 == parent) { split(FILENAME, p, "/"); print p[3] } }' "$stat" 2>/dev/null
  done
}
cleanup() {
  if ((job > 0)); then
    for child in $(children_of "$job"); do kill -KILL "$child" 2>/dev/null; done
    kill -KILL "$job" 2>/dev/null
  fi
  ip netns del "${ns}a" 2>/dev/null
  ip netns del "${ns}b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export SOUPLAB_DATA_DIR=$tmp/data SOUPLAB_CACHE_DIR=$tmp/cache
mkdir -p "$SOUPLAB_DATA_DIR" "$SOUPLAB_CACHE_DIR"
source "$(dirname "$0")/cli_test_lib.sh"
make_test_corpus

tiny=(--corpus "$corpus" --layers 1 --width 48 --heads 4 --context 32 --experts 3 --coef-hidden 32
      --batch 8 --warmup 5 --eval-windows 4 --threads 1 --seed 7)

# Per-domain losses of a checkpoint's uniform-h specialist, one number per line.
losses() { "$cli" eval "$1" --windows 4 2>/dev/null | awk '$2 ~ /^0\./ && NF == 4 { print $3 }'; }
# same_losses A B: every pair within 1e-3.
same_losses() {
  paste <(losses "$1") <(losses "$2") |
    awk 'BEGIN { n = 0; bad = 0 } { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-3) bad = 1 }
         END { exit (n == 3 && !bad) ? 0 : 1 }'
}

# --- --nproc 2 equals one process -------------------------------------------------------------
must_succeed train "${tiny[@]}" --steps 20 --eval-interval 10 --checkpoint-interval 10 --out "$tmp/one" --quiet
must_succeed train "${tiny[@]}" --steps 20 --eval-interval 10 --checkpoint-interval 10 --out "$tmp/two" --nproc 2
[[ -f $tmp/two/step_00000020.ckpt ]] || fail "--nproc 2 wrote no final checkpoint"
(($(grep -c "finished at step 20" "$tmp/out") == 1)) || fail "--nproc 2: expected one report (rank 0's)"
same_losses "$tmp/one/step_00000020.ckpt" "$tmp/two/step_00000020.ckpt" ||
  fail "--nproc 2 and one process differ: $(losses "$tmp/one/step_00000020.ckpt" | xargs) vs $(losses "$tmp/two/step_00000020.ckpt" | xargs)"
must_succeed runs list
(($(grep -c "soup" "$tmp/out") == 2)) || fail "runs list: expected 2 runs (one per job), got $(grep -c soup "$tmp/out")"
ok "train --nproc 2: one run in the log, the same losses as one process ($(losses "$tmp/two/step_00000020.ckpt" | xargs))"

# --- a rank killed mid-run ---------------------------------------------------------------------
# start_job DIR TIMEOUT: a long 2-rank run in the background; waits for its first checkpoint.
start_job() {
  "$cli" train "${tiny[@]}" --steps 100000 --eval-interval 100000 --checkpoint-interval 5 --keep 2 \
    --out "$1" --nproc 2 --dist-timeout "$2" >"$tmp/out" 2>"$tmp/err" &
  job=$!
  # A generous deadline (a busy machine starts two ranks slowly); the loop ends at the checkpoint.
  for _ in $(seq 3000); do
    compgen -G "$1/step_*.ckpt" >/dev/null && break
    sleep 0.1
  done
  compgen -G "$1/step_*.ckpt" >/dev/null || fail "the 2-rank job wrote no checkpoint in 300 s"
  ranks=($(children_of "$job"))
  ((${#ranks[@]} == 2)) || fail "expected 2 rank processes under the launcher, found ${#ranks[@]}"
}
# wait_job LIMIT: the job's exit code in $job_rc, and the seconds it took in $took; fails past LIMIT.
wait_job() {
  local start=$SECONDS
  for _ in $(seq $(($1 * 10))); do
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$job" 2>/dev/null && fail "the job still runs $1 s after a rank failed"
  wait "$job"
  job_rc=$? took=$((SECONDS - start)) job=0
}

start_job "$tmp/killed" 20
kill -KILL "${ranks[1]}"
wait_job 20
((job_rc != 0)) || fail "the job exited 0 after rank 1 was killed"
grep -q "rank 1 was killed by signal 9" "$tmp/err" || fail "the launcher did not name the killed rank"
ckpt=$(ls "$tmp/killed"/step_*.ckpt | tail -1)
step=$(basename "$ckpt" .ckpt)
step=$((10#${step#step_}))
must_succeed resume "$ckpt" --steps $((step + 5)) --quiet
ok "SIGKILL of rank 1: the job exited $job_rc in ${took} s (timeout 20 s) naming rank 1; its last checkpoint (step $step) resumed"

start_job "$tmp/hung" 5
kill -STOP "${ranks[1]}"
wait_job 30
((job_rc != 0)) || fail "the job exited 0 with rank 1 hung"
grep -q "hung for more than 5 s" "$tmp/err" || fail "rank 0 did not report the timeout: $(tail -3 "$tmp/err")"
ok "SIGSTOP of rank 1: rank 0 timed out after 5 s, the job exited $job_rc in ${took} s, the stopped rank was killed"

# --- torchrun ------------------------------------------------------------------------------------
# Its store is torchrun's own, so it must be the same libtorch version as this build's.
torchrun=${TORCHRUN:-}
version=$("$cli" info 2>/dev/null | sed -n 's/.*libtorch \([0-9.]*\).*/\1/p' | head -1)
for cand in "$HOME"/.cache/souplab/py-torch*/bin/torchrun; do
  [[ -z $torchrun && -x $cand && -n $version ]] || continue
  "$(dirname "$cand")/python" -c "import torch,sys; sys.exit(0 if torch.__version__.startswith('$version') else 1)" 2>/dev/null &&
    torchrun=$cand
done
if [[ -n $torchrun ]]; then
  "$torchrun" --nproc-per-node 2 --no-python "$cli" train "${tiny[@]}" --steps 20 --eval-interval 10 \
    --checkpoint-interval 10 --out "$tmp/torchrun" --quiet >"$tmp/out" 2>"$tmp/err" || fail "torchrun exited $?"
  same_losses "$tmp/one/step_00000020.ckpt" "$tmp/torchrun/step_00000020.ckpt" || fail "torchrun's run differs from one process"
  ok "torchrun --nproc-per-node 2 --no-python souplab-cli train: the same losses as one process"
else
  echo "skip: no torchrun of libtorch ${version:-?} here (set TORCHRUN to test one)"
fi
# --- two hosts: network namespaces joined by a veth pair --------------------------------------
two_hosts() {
  ip netns add "${ns}a" && ip netns add "${ns}b" &&
    ip link add "${ns:0:8}x" type veth peer name "${ns:0:8}y" &&
    ip link set "${ns:0:8}x" netns "${ns}a" && ip link set "${ns:0:8}y" netns "${ns}b" &&
    ip -n "${ns}a" addr add 10.213.0.1/24 dev "${ns:0:8}x" && ip -n "${ns}b" addr add 10.213.0.2/24 dev "${ns:0:8}y" &&
    ip -n "${ns}a" link set "${ns:0:8}x" up && ip -n "${ns}b" link set "${ns:0:8}y" up &&
    ip -n "${ns}a" link set lo up && ip -n "${ns}b" link set lo up
}
if ((EUID == 0)) && command -v ip >/dev/null && two_hosts 2>"$tmp/err"; then
  # Gloo binds the interface GLOO_SOCKET_IFNAME names, as PyTorch's does.
  host_rank() {
    ip netns exec "${ns}$1" env GLOO_SOCKET_IFNAME="${ns:0:8}$2" "$cli" train "${tiny[@]}" --steps 20 \
      --eval-interval 10 --checkpoint-interval 10 --out "$tmp/hosts" --rank "$3" --world-size 2 \
      --master 10.213.0.1:29631 --dist-timeout 30 --quiet
  }
  host_rank a x 0 >"$tmp/out" 2>"$tmp/err" &
  host0=$!
  host_rank b y 1 >"$tmp/out1" 2>"$tmp/err1" || fail "rank 1 on the second namespace exited $?: $(tail -2 "$tmp/err1")"
  wait "$host0" || fail "rank 0 on the first namespace exited $?"
  same_losses "$tmp/one/step_00000020.ckpt" "$tmp/hosts/step_00000020.ckpt" || fail "the two-host run differs from one process"
  ok "two hosts (network namespaces, veth, --rank/--world-size/--master): the same losses as one process"
else
  echo "skip: cannot make two network namespaces here ($(head -1 "$tmp/err" 2>/dev/null)); needs root and ip netns"
fi
echo "all $n distributed CLI checks passed"
