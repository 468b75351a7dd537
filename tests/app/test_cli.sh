#!/usr/bin/env bash
# souplab-cli end to end:  test_cli.sh SOUPLAB_CLI SOURCE_DIR
# Builds a 3-domain corpus (this repository's engine sources, licence texts, headers and docs;
# or the first 80 KB of three domains of $SOUPLAB_SHARED_CORPUS when that is set), then runs
# every command the README documents and the error paths: exit statuses (2 for usage errors, 1
# for runtime errors, 130 for Ctrl-C), repeated flags (refused, or accumulated where the usage
# says `...`), `--`, and the --json outputs. Each check prints what it checked; the script stops
# with a non-zero exit at the first failure.
set -uo pipefail

cli=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/souplab-cli-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Everything the CLI writes (run log, checkpoints, token cache) stays in the temporary folder.
export SOUPLAB_DATA_DIR=$tmp/data SOUPLAB_CACHE_DIR=$tmp/cache
mkdir -p "$SOUPLAB_DATA_DIR" "$SOUPLAB_CACHE_DIR"

source "$(dirname "$0")/cli_test_lib.sh"

# --- the corpus: 3 domains of > 40 KB each ---------------------------------------------------
make_test_corpus
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
must_succeed info "${size_flags[@]}" --domains 3 --json
json_check 'd["parameters"]["instantiated"] == 21984 and d["parameters"]["shared"] == 21984 and d["model"]["n_layer"] == 1 and d["bank"]["n_domains"] == 3 and d["version"]'
ok "info --json: parses as JSON, instantiated = shared = 21,984, 1 layer, 3 domains"

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
must_succeed runs list --json
json_check 'any(r["id"] == int(a[0]) and r["name"] == "cli-test" and r["kind"] == "soup" and r["status"] == "finished" and r["last_step"] == 20 and r["checkpoint"] == a[1] for r in d)' "$run_id" "$ckpt"
ok "runs list --json: parses as JSON, run $run_id cli-test soup finished at step 20 with its checkpoint"

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

# --- inspect: alpha(h), the formula, distances -----------------------------------------------
must_succeed inspect "$ckpt" --weights "onehot:$d0" --json
json_check 'len(d["alpha"]) == len(d["alpha_uniform"]) > 0 and d["formula"].startswith("theta = S ") and d["formula"].count(" E") == len(d["alpha"]) and d["weights"][0] in (0, 1) and len(d["blocks"]) >= 2 and all(t["from_shared"] > 0 for t in d["tensors"])'
must_succeed inspect "$ckpt" --json
json_check 'd["alpha"] == d["alpha_uniform"] and all(t["from_uniform"] == 0 for t in d["tensors"] + d["blocks"])'
must_succeed inspect "$ckpt" --weights "onehot:$d0"
grep -q "^theta = S [+-] [0-9.]* E1" "$tmp/out" || fail "inspect: no formula line"
ok "inspect: alpha(h) per expert, the formula, distances per block and tensor (none from itself at uniform h)"
must_succeed inspect "$ckpt" --path "onehot:$d0:onehot:${domains[1]}" --points 2 --windows 2 --json
json_check 'len(d["points"]) == 3 and d["points"][1]["t"] == 0.5 and all(p["along_h"][0] == p["along_weights"][0] for p in (d["points"][0], d["points"][2])) and d["points"][0]["weights"] == d["from"]'
must_fail "expects H_A:H_B" inspect "$ckpt" --path "onehot:$d0"
ok "inspect --path: 3 points from one specialist to the other, both curves meeting at the ends; a bad path is a usage error"
must_succeed inspect "$ckpt" --landscape "${domains[0]},${domains[1]},${domains[2]}" --target "${domains[1]}" --resolution 2 --json
json_check 'len(d["points"]) == 6 and all(abs(sum(p["share"]) - 1) < 1e-9 and p["loss"] > 0 for p in d["points"]) and d["corners"] == a' "${domains[0]}" "${domains[1]}" "${domains[2]}"
must_fail "is not a domain" inspect "$ckpt" --landscape "${domains[0]},${domains[1]},no-such-domain"
ok "inspect --landscape: a loss at each of the 6 points of the 3 domains' simplex; an unknown domain is a usage error"

must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --seed 3
out_bytes=$(wc -c <"$tmp/out")
head -c 4 "$tmp/out" | grep -q "^int " || fail "generate: output does not start with the prompt"
((out_bytes >= 30)) || fail "generate: only $out_bytes bytes of output for 40 requested"
ok "generate: prompt + $((out_bytes - 5)) generated bytes"
# --threads changes the speed, never the text: one thread and every core give the same greedy bytes.
must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --temperature 0 --threads 1
cp "$tmp/out" "$tmp/greedy1"
must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --temperature 0 --timing
cmp -s "$tmp/out" "$tmp/greedy1" || fail "generate --threads 1: other greedy bytes than with every core"
ok "generate --threads 1: the same greedy bytes as with every core"
# --timing reports on stderr the bytes it wrote to stdout (the prompt and the final newline aside).
timed=$(sed -n 's/^timing: \([0-9]*\) bytes in [0-9.]* ms (1 sample(s)), first after [0-9.]* ms, then [0-9.]* bytes\/s$/\1/p' "$tmp/err")
[[ -n "$timed" ]] || fail "generate --timing: no timing line on stderr: $(cat "$tmp/err")"
((timed == $(wc -c <"$tmp/out") - 5)) || fail "generate --timing: $timed bytes timed, $(($(wc -c <"$tmp/out") - 5)) written"
ok "generate --timing: $timed bytes timed in process"
# --samples N: N continuations in one batch, printed one after another; greedily each is the
# single greedy text, and the timing line counts the bytes of all of them.
must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --temperature 0 --samples 3 --timing
for i in 1 2 3; do printf -- '--- sample %d of 3 ---\n' "$i"; cat "$tmp/greedy1"; done >"$tmp/greedy3"
cmp -s "$tmp/out" "$tmp/greedy3" || fail "generate --samples 3: not three copies of the single greedy text: $(cat "$tmp/out")"
timed3=$(sed -n 's/^timing: \([0-9]*\) bytes in [0-9.]* ms (3 sample(s)), first after [0-9.]* ms, then [0-9.]* bytes\/s$/\1/p' "$tmp/err")
((timed3 == 3 * timed)) || fail "generate --samples 3 --timing: $timed3 bytes timed, expected 3 x $timed"
must_fail "--samples must be in 1..4096" generate "$ckpt" --samples 0
ok "generate --samples 3: three greedy samples in one batch, each the single greedy text"
# --f16: the weights in half (as a GGUF f16 runs); as many bytes, and a clear error where the
# float32 CPU decoder does not apply.
must_succeed generate "$ckpt" --weights "onehot:$d0" --prompt "int " --length 40 --temperature 0 --f16
(($(wc -c <"$tmp/out") == $(wc -c <"$tmp/greedy1"))) || fail "generate --f16: $(wc -c <"$tmp/out") bytes, not $(wc -c <"$tmp/greedy1")"
must_fail "f16 weights are for a dense float32 specialist on the CPU" generate "$ckpt" --precision bf16 --f16
ok "generate --f16: half weights decode the same number of bytes; refused for a bf16 model"

# --- export ----------------------------------------------------------------------------------
exp=$tmp/exports/spec-$d0
must_succeed export "$ckpt" --weights "onehot:$d0" --format all --out "$exp"
export_files=(model.safetensors config.json model.onnx model-f16.gguf tokenizer.json tokenizer_config.json generation_config.json README.md)
for f in "${export_files[@]}"; do
  [[ -s $exp/$f ]] || fail "export: $exp/$f missing or empty"
done
nfiles=$(find "$exp" -type f | wc -l)
((nfiles == 8)) || fail "export: $nfiles files in $exp, want 8"
grep -q "^exported $exp " "$tmp/out" || fail "export: no 'exported DIR' line"
ok "export --format all: the 8 files ${export_files[*]} in $exp"

must_succeed runs show "$run_id"
grep -q "^run $run_id: cli-test" "$tmp/out" || fail "runs show: no header for run $run_id"
grep -q "^  export $exp (all)" "$tmp/out" || fail "runs show: the export $exp is not listed"
ok "runs show $run_id lists the export $exp (all)"
must_succeed runs show "$run_id" --json
json_check 'd["id"] == int(a[0]) and d["name"] == "cli-test" and d["status"] == "finished" and d["domains"] == a[2:] and any(e["path"] == a[1] and e["format"] == "all" for e in d["exports"]) and isinstance(d["config"], dict) and d["validation"]' "$run_id" "$exp" "${domains[@]}"
ok "runs show $run_id --json: parses as JSON, its domains, config, validation losses and the export $exp"

must_exit 1 "$exp" export "$ckpt" --weights "onehot:$d0" --out "$exp"
[[ $(find "$exp" -type f | wc -l) == ${#export_files[@]} ]] || fail "a failed export touched $exp"
ok "the failed second export left $exp untouched"

# --- bad input: runtime errors exit 1, usage errors 2 ------------------------------------------
must_exit 1 "expected 3 values" eval "$ckpt" --weights 1,2
must_exit 1 "no-such\.ckpt" eval "$tmp/no-such.ckpt"
must_exit 2 "unknown flag --bogus" eval "$ckpt" --bogus
must_exit 2 "unknown flag --bogus" train --corpus "$corpus" --bogus 1
must_exit 2 "unknown command" frobnicate
must_exit 2 "^Usage: souplab-cli COMMAND" # no command at all
must_exit 2 "expects an integer" train --corpus "$corpus" --steps many
must_exit 2 "missing CHECKPOINT" eval
must_exit 2 'unexpected argument "extra"' eval "$ckpt" extra
must_exit 2 'unexpected argument "extra"' train --corpus "$corpus" extra
must_exit 2 "needs a value" generate "$ckpt" --prompt
must_exit 2 "--out DIR is required" export "$ckpt" --weights "onehot:$d0"
must_exit 2 "--format must be" export "$ckpt" --out "$tmp/exports/x" --format pickle
must_exit 2 "unknown action" runs frobnicate
must_exit 2 "is not a run id" runs show abc
[[ ! -e $tmp/exports/x ]] || fail "a usage error wrote $tmp/exports/x"
must_succeed eval --help
grep -q "^  2    usage error" "$tmp/out" || fail "eval --help does not state the exit statuses"
must_succeed --help
grep -q "^  130  interrupted by Ctrl-C" "$tmp/out" || fail "--help does not state the exit statuses"
ok "--help and eval --help state the exit statuses (0, 1, 2, 130)"

# --- repeated flags: refused, except where the usage says ... -----------------------------------
must_exit 2 "--weights given twice" eval "$ckpt" --weights uniform --weights "onehot:$d0"
must_exit 2 "--json given twice" runs list --json --json
must_exit 2 "--steps given twice" train --corpus "$corpus" --steps 5 --steps 6
must_succeed compare --help
grep -q -- "--target H\.\.\." "$tmp/out" || fail "compare --help does not mark --target as repeatable"
mix="${domains[1]}=0.5,${domains[2]}=0.5"
must_succeed compare "$ckpt" --windows 2 --target "$d0=1" --target "$mix" --json
json_check 'len(d["targets"]) == 2 and len(d["models"]) == 1 and len(d["models"][0]["target_loss"]) == 2'
cp "$tmp/out" "$tmp/compare-repeated.json"
must_succeed compare "$ckpt" --windows 2 --target "$d0=1;$mix" --json
json_check 'd == json.load(open(a[0]))' "$tmp/compare-repeated.json"
ok "compare --target A --target B accumulates: the same two targets and losses as --target \"A;B\""

# --- `--` ends the flags -------------------------------------------------------------------------
cp "$ckpt" "$tmp/--bank.ckpt"
must_succeed eval "$ckpt" --weights "onehot:$d0"
grep -E "^  " "$tmp/out" >"$tmp/eval-rows"
pushd "$tmp" >/dev/null
must_exit 2 "unknown flag --bank\.ckpt" eval --weights "onehot:$d0" --bank.ckpt
must_succeed eval --weights "onehot:$d0" -- --bank.ckpt
grep -E "^  " "$tmp/out" | cmp -s - "$tmp/eval-rows" || fail "eval -- --bank.ckpt: losses differ from the checkpoint's"
must_exit 2 'unexpected argument "--weights"' eval -- --bank.ckpt --weights uniform
popd >/dev/null
ok "-- ends the flags: eval -- --bank.ckpt opens the file named --bank.ckpt, and a flag after -- is an argument"

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
# Inside the MoE (issue 32): the router's load per MoE block at h, each block's shares summing to 1.
must_succeed inspect "$moe_ckpt" --weights "onehot:$d0" --json
python3 - "$tmp/out" <<'PY' || fail "inspect of the MoE: not the router's load (stdout above)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["kind"] == "moe" and j["role"] == "router load", j
assert len(j["columns"]) == 4 and len(j["rows"]) == 1, j
assert all(abs(sum(row) - 1) < 1e-6 for row in j["values"]), j["values"]
PY
ok "inspect of the MoE: the router's load at h, one block x 4 experts summing to 1"
must_fail "mixture-of-experts" export "$moe_ckpt" --weights uniform --out "$tmp/exports/moe"
ok "export of a MoE refused with a clear error"
must_fail "top_k must be 1" train --corpus "$corpus" --kind moe --top-k 3
must_fail "expert_lr_scale must be in 0..100" train --corpus "$corpus" --expert-lr-scale -1

# --- Ctrl-C: exit 130 ----------------------------------------------------------------------------
# Job control (set -m) gives the background command its own process group with SIGINT's default
# disposition, as a terminal's Ctrl-C finds it (a script's background jobs otherwise ignore it).
set -m
"$cli" train --corpus "$corpus" "${size_flags[@]}" --batch 4 --steps 1000000 --eval-interval 1000000 \
  --warmup 5 --log-interval 1 --name cli-sigint --quiet >"$tmp/sigint.out" 2>"$tmp/sigint.err" &
pid=$!
set +m
stepping() {
  "$cli" runs list --json 2>/dev/null | python3 -c 'import json, sys
sys.exit(0 if any(r["name"] == "cli-sigint" and r["last_step"] >= 2 for r in json.load(sys.stdin)) else 1)'
}
wait_for "the training to take steps" 120 stepping
kill -INT "$pid"
wait "$pid"
rc=$?
((rc == 130)) || { cat "$tmp/sigint.err" >&2; fail "train after Ctrl-C exited $rc, want 130"; }
line=$(grep -E '^run [0-9]+ stopped at step [0-9]+; last checkpoint: ' "$tmp/sigint.out") ||
  fail "train after Ctrl-C: no 'run ID stopped at step N; last checkpoint: PATH' line"
sig_ckpt=$(sed -E 's/.*last checkpoint: //' <<<"$line")
[[ -f $sig_ckpt ]] || fail "train after Ctrl-C: checkpoint $sig_ckpt does not exist"
ok "Ctrl-C stops train with a checkpoint ($(sed -E 's/^run [0-9]+ (stopped at step [0-9]+).*/\1/' <<<"$line")) and exit 130"
set -m
"$cli" generate "$ckpt" --prompt x --length 100000000 >"$tmp/gen.out" 2>"$tmp/gen.err" &
pid=$!
set +m
streaming() { (($(wc -c <"$tmp/gen.out") > 100)); }
wait_for "generate to stream text" 60 streaming
kill -INT "$pid"
wait "$pid"
rc=$?
((rc == 130)) || fail "generate after Ctrl-C exited $rc, want 130"
ok "Ctrl-C stops generate: exit 130"

echo "PASS: $n checks"
