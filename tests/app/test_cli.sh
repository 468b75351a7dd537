#!/usr/bin/env bash
# souplab-cli end to end:  test_cli.sh SOUPLAB_CLI SOURCE_DIR
# Builds a 3-domain corpus (this repository's engine sources, licence texts, headers and docs;
# or the first 80 KB of three domains of $SOUPLAB_SHARED_CORPUS when that is set), then runs
# every command the README documents and the error paths. Each check prints what it checked;
# the script stops with a non-zero exit at the first failure.
set -uo pipefail

cli=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/souplab-cli-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Everything the CLI writes (run log, checkpoints, token cache) stays in the temporary folder.
export SOUPLAB_DATA_DIR=$tmp/data SOUPLAB_CACHE_DIR=$tmp/cache
mkdir -p "$SOUPLAB_DATA_DIR" "$SOUPLAB_CACHE_DIR"

n=0
fail() {
  echo "FAIL: $*" >&2
  [[ -s $tmp/out ]] && { echo "--- stdout:" >&2; tail -20 "$tmp/out" >&2; }
  [[ -s $tmp/err ]] && { echo "--- stderr:" >&2; tail -20 "$tmp/err" >&2; }
  exit 1
}
ok() { n=$((n + 1)); echo "ok $n: $*"; }
# run ARGS...: runs the CLI, stdout in $tmp/out, stderr in $tmp/err, exit code in $rc.
run() {
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
must_succeed() {
  run "$@"
  ((rc == 0)) || fail "souplab-cli $* exited $rc"
}
# must_fail PATTERN ARGS...: non-zero exit and an error on stderr matching PATTERN (grep -E).
must_fail() {
  local pattern=$1
  shift
  run "$@"
  ((rc != 0)) || fail "souplab-cli $* exited 0, expected an error"
  grep -Eq -- "$pattern" "$tmp/err" || fail "souplab-cli $*: stderr does not match /$pattern/"
  ok "souplab-cli $* fails (exit $rc): $(head -1 "$tmp/err")"
}

# --- the corpus: 3 domains of > 40 KB each ---------------------------------------------------
corpus=$tmp/corpus
if [[ -n "${SOUPLAB_SHARED_CORPUS:-}" && -d "${SOUPLAB_SHARED_CORPUS:-}/code_c" ]]; then
  for d in code_c licenses_spdx fiction_austen; do
    mkdir -p "$corpus/$d"
    head -c 81920 "$SOUPLAB_SHARED_CORPUS/$d/data.txt" >"$corpus/$d/data.txt"
  done
  domains=(code_c licenses_spdx fiction_austen)
else
  mkdir -p "$corpus/code" "$corpus/docs" "$corpus/licenses"
  i=0
  for f in "$src"/engine/*/*.cpp; do cp "$f" "$corpus/code/$((i++))-$(basename "$f")"; done
  for f in "$src"/engine/*/*.h "$src"/app/*/*.h "$src"/README.md; do
    [[ -f $f ]] && cp "$f" "$corpus/docs/$((i++))-$(basename "$f")"
  done
  cp "$src/LICENSE" "$corpus/licenses/LICENSE"
  # Debian's licence texts (base-files) make the licence domain big enough.
  for f in Apache-2.0 Artistic BSD GPL-2 LGPL-2.1 MPL-2.0; do
    [[ -f /usr/share/common-licenses/$f ]] && cp -L "/usr/share/common-licenses/$f" "$corpus/licenses/$f"
  done
  domains=(code docs licenses)
fi
for d in "${domains[@]}"; do
  size=$(cat "$corpus/$d"/* | wc -c)
  ((size > 40000)) || fail "corpus domain $d has only $size bytes (want > 40 KB)"
done
ok "corpus of 3 domains (${domains[*]}), each > 40 KB, in $corpus"

# --- version, help, info ---------------------------------------------------------------------
must_succeed --version
grep -Eq '^souplab-cli [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out" || fail "--version printed '$(cat "$tmp/out")'"
ok "--version: $(cat "$tmp/out")"
must_succeed --help
for c in info corpus train resume eval generate runs export; do
  grep -Eq "^  $c " "$tmp/out" || fail "--help does not list the command $c"
done
ok "--help lists info corpus train resume eval generate runs export"
must_succeed train --help
grep -q -- "--steps" "$tmp/out" || fail "train --help does not document --steps"
ok "train --help documents its flags"

size_flags=(--layers 1 --width 32 --heads 2 --context 32 --experts 2)
must_succeed info "${size_flags[@]}" --domains 3
# V*C + T*C + L*(12 C^2 + 13 C) + 2C for V=256, T=32, C=32, L=1.
grep -Eq 'instantiated specialist +21,984$' "$tmp/out" || fail "info: no 'instantiated specialist 21,984' line"
grep -Eq 'per expert \(E_j\) +21,984$' "$tmp/out" || fail "info: per-expert count is not 21,984"
grep -Eq 'shared \(S\) +21,984$' "$tmp/out" || fail "info: shared count is not 21,984"
ok "info: counts line 'instantiated specialist 21,984' (= shared = per expert, as the formula gives)"

# --- corpus build ----------------------------------------------------------------------------
must_succeed corpus build "$corpus"
for d in "${domains[@]}"; do grep -Eq "^  $d +[0-9]+ +[0-9]+ +[0-9]+" "$tmp/out" || fail "corpus build: no row for $d"; done
grep -q "^cache  $SOUPLAB_CACHE_DIR" "$tmp/out" || fail "corpus build: the cache is not under SOUPLAB_CACHE_DIR"
ok "corpus build: one row per domain, cache under \$SOUPLAB_CACHE_DIR"
must_succeed corpus info "$corpus"
ok "corpus info reuses the cache"

# --- train -----------------------------------------------------------------------------------
must_succeed train --corpus "$corpus" "${size_flags[@]}" --batch 4 --steps 20 --eval-interval 10 \
  --warmup 5 --name cli-test --quiet
line=$(grep -E '^run [0-9]+ finished at step 20; last checkpoint: ' "$tmp/out") ||
  fail "train: no 'run ID finished at step 20; last checkpoint: PATH' line"
run_id=$(sed -E 's/^run ([0-9]+) .*/\1/' <<<"$line")
ckpt=$(sed -E 's/.*last checkpoint: //' <<<"$line")
[[ -f $ckpt ]] || fail "train: checkpoint $ckpt does not exist"
[[ $ckpt == "$SOUPLAB_DATA_DIR"/* ]] || fail "train: checkpoint $ckpt is not under SOUPLAB_DATA_DIR"
ok "train: run $run_id finished at step 20, checkpoint $ckpt"

# --- runs list -------------------------------------------------------------------------------
must_succeed runs list
grep -Eq "^ +$run_id +cli-test +soup +finished +20 " "$tmp/out" || fail "runs list: no row '$run_id cli-test soup finished 20'"
ok "runs list: run $run_id cli-test, soup, finished at step 20"

# --- eval, generate --------------------------------------------------------------------------
d0=${domains[0]}
must_succeed eval "$ckpt" --weights "onehot:$d0"
for d in "${domains[@]}"; do
  grep -Eq "^  $d +[01]\.000 +[0-9]+\.[0-9]{4} +[0-9]+\.[0-9]{4}$" "$tmp/out" || fail "eval: no loss row for $d"
done
grep -Eq "^  $d0 +1\.000 " "$tmp/out" || fail "eval: $d0 does not have weight 1"
grep -q "on D_h" "$tmp/out" || fail "eval: no h-weighted loss"
ok "eval --weights onehot:$d0: a loss per domain, weight 1 on $d0"
must_succeed eval "$ckpt" --weights "onehot:$d0" --json
grep -q '"loss"' "$tmp/out" || fail "eval --json: no loss field"
ok "eval --json prints JSON with the losses"

must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --seed 3
out_bytes=$(wc -c <"$tmp/out")
head -c 4 "$tmp/out" | grep -q "^int " || fail "generate: output does not start with the prompt"
((out_bytes >= 30)) || fail "generate: only $out_bytes bytes of output for 40 requested"
ok "generate: prompt + $((out_bytes - 5)) generated bytes"

# --- export ----------------------------------------------------------------------------------
exp=$tmp/exports/spec-$d0
must_succeed export "$ckpt" --weights "onehot:$d0" --format all --out "$exp"
for f in model.safetensors config.json model.onnx README.md; do
  [[ -s $exp/$f ]] || fail "export: $exp/$f missing or empty"
done
nfiles=$(find "$exp" -type f | wc -l)
((nfiles == 4)) || fail "export: $nfiles files in $exp, want 4"
grep -q "^exported $exp " "$tmp/out" || fail "export: no 'exported DIR' line"
ok "export --format all: the 4 files model.safetensors config.json model.onnx README.md in $exp"

must_succeed runs show "$run_id"
grep -q "^run $run_id: cli-test" "$tmp/out" || fail "runs show: no header for run $run_id"
grep -q "^  export $exp (all)" "$tmp/out" || fail "runs show: the export $exp is not listed"
ok "runs show $run_id lists the export $exp (all)"

must_fail "$exp" export "$ckpt" --weights "onehot:$d0" --out "$exp"
[[ $(find "$exp" -type f | wc -l) == 4 ]] || fail "a failed export touched $exp"
ok "the failed second export left $exp untouched"

# --- bad input -------------------------------------------------------------------------------
must_fail "expected 3 values" eval "$ckpt" --weights 1,2
must_fail "no-such\.ckpt" eval "$tmp/no-such.ckpt"
must_fail "unknown flag --bogus" eval "$ckpt" --bogus
must_fail "unknown flag --bogus" train --corpus "$corpus" --bogus 1
must_fail "unknown command" frobnicate
must_fail "expects an integer" train --corpus "$corpus" --steps many

# --- resume ----------------------------------------------------------------------------------
must_succeed resume "$ckpt" --steps 30 --quiet
grep -Eq "^run $run_id finished at step 30; last checkpoint: " "$tmp/out" ||
  fail "resume: no 'run $run_id finished at step 30' line (same run id)"
ok "resume --steps 30 continued run $run_id to step 30"
must_succeed runs list
grep -Eq "^ +$run_id +cli-test +soup +finished +30 " "$tmp/out" || fail "runs list after resume: run $run_id not at step 30"
ok "runs list: run $run_id finished at step 30"

# --- a sparse mixture-of-experts: train, stop-free resume, eval, refused export ----------------
must_succeed train --corpus "$corpus" --layers 1 --width 32 --heads 2 --context 32 --kind moe --experts 4 --top-k 1 \
  --capacity-train 1.5 --batch 4 --steps 10 --eval-interval 10 --warmup 2 --name cli-moe --quiet
line=$(grep -E '^run [0-9]+ finished at step 10; last checkpoint: ' "$tmp/out") ||
  fail "train --kind moe: no 'run ID finished at step 10' line"
moe_run=$(sed -E 's/^run ([0-9]+) .*/\1/' <<<"$line")
moe_ckpt=$(sed -E 's/.*last checkpoint: //' <<<"$line")
ok "train --kind moe: run $moe_run finished at step 10"
must_succeed resume "$moe_ckpt" --steps 14 --quiet
grep -Eq "^run $moe_run finished at step 14; " "$tmp/out" || fail "resume of the MoE run: not at step 14"
must_succeed runs list
grep -Eq "^ +$moe_run +cli-moe +moe +finished +14 " "$tmp/out" || fail "runs list: MoE run $moe_run not at step 14"
ok "resume --steps 14 continued MoE run $moe_run"
must_succeed eval "$moe_ckpt" --weights uniform
for d in "${domains[@]}"; do
  grep -Eq "^  $d +[01]\.[0-9]{3} +[0-9]+\.[0-9]{4} +[0-9]+\.[0-9]{4}$" "$tmp/out" || fail "eval MoE: no loss row for $d"
done
ok "eval of the MoE checkpoint: a loss per domain"
must_fail "mixture-of-experts" export "$moe_ckpt" --weights uniform --out "$tmp/exports/moe"
ok "export of a MoE refused with a clear error"
must_fail "top_k must be 1" train --corpus "$corpus" --kind moe --top-k 3
must_fail "expert_lr_scale must be in 0..100" train --corpus "$corpus" --expert-lr-scale -1

echo "PASS: $n checks"
