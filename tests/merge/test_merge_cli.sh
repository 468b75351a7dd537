#!/usr/bin/env bash
# souplab-cli merge end to end:  test_merge_cli.sh SOUPLAB_CLI SOURCE_DIR
# Trains a tiny soup on this repository's sources, exports two specialists, merges them with
# every method, checks the merged folder, its card, its run log row, and the error paths
# (mismatched configs and a missing base name the file / say what is missing).
set -uo pipefail
cli=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/souplab-merge-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SOUPLAB_DATA_DIR=$tmp/data SOUPLAB_CACHE_DIR=$tmp/cache
mkdir -p "$SOUPLAB_DATA_DIR" "$SOUPLAB_CACHE_DIR"

source "$(dirname "$0")/../app/cli_test_lib.sh"  # fail, ok, run, must_succeed, must_fail

# Two domains of > 40 KB: engine sources and Debian's licence texts.
corpus=$tmp/corpus
mkdir -p "$corpus/code" "$corpus/licenses"
i=0
for f in "$src"/engine/*/*.cpp "$src"/engine/*/*.h; do cp "$f" "$corpus/code/$((i++))-$(basename "$f")"; done
cp "$src/LICENSE" "$corpus/licenses/LICENSE"
for f in Apache-2.0 Artistic BSD GPL-2 LGPL-2.1 MPL-2.0; do
  [[ -f /usr/share/common-licenses/$f ]] && cp -L "/usr/share/common-licenses/$f" "$corpus/licenses/$f"
done

must_succeed merge --help
for f in method base lambda density seed out format overwrite; do
  grep -q -- "--$f" "$tmp/out" || fail "merge --help does not document --$f"
done
ok "merge --help documents every flag"

size=(--layers 1 --width 32 --heads 2 --context 32 --experts 2)
must_succeed train --corpus "$corpus" "${size[@]}" --batch 4 --steps 10 --eval-interval 10 --warmup 2 --name merge-test --quiet
ckpt=$(sed -nE 's/.*last checkpoint: //p' "$tmp/out")
[[ -f $ckpt ]] || fail "train: no checkpoint"
ok "tiny soup trained: $ckpt"
must_succeed export "$ckpt" --weights onehot:code --format safetensors --out "$tmp/code" --no-eval
must_succeed export "$ckpt" --weights onehot:licenses --format safetensors --out "$tmp/lic" --no-eval
ok "two specialists exported"

for m in task_arithmetic ties dare dare_ties; do
  must_succeed merge --method $m --base "$ckpt" "$tmp/code:0.6" "$tmp/lic" --density 0.5 --seed 3 \
    --format safetensors --out "$tmp/m-$m" --windows 2
  [[ -f $tmp/m-$m/model.safetensors && -f $tmp/m-$m/config.json ]] || fail "$m: no model files"
  grep -q "\`$m\`" "$tmp/m-$m/README.md" || fail "$m: the card does not state the method"
  grep -q "$tmp/code" "$tmp/m-$m/README.md" || fail "$m: the card does not name the input"
  grep -Eq "^  code +[0-9.]+$" "$tmp/out" || fail "$m: no validation loss for domain code"
  ok "merge --method $m: folder, card naming method and inputs, losses: $(grep -E '^  code' "$tmp/out")"
done
# The merged folder is a model like any export: generate opens it and samples from it.
must_succeed generate "$tmp/m-ties" --length 20 --seed 1
ok "generate opens the merged folder"
must_succeed merge --method linear "$tmp/code" "$ckpt@onehot:licenses:2" --out "$tmp/lin" --format all --no-eval
for f in model.safetensors model.onnx config.json README.md; do [[ -f $tmp/lin/$f ]] || fail "linear: no $f"; done
ok "merge --method linear with a soup instantiated at PATH@H:WEIGHT writes all formats"
must_succeed runs list
grep -q "merge: ties of 2 models" "$tmp/out" || fail "runs list has no merge run"
ok "the merge is in the run log"

# Errors.
must_succeed train --corpus "$corpus" --layers 1 --width 48 --heads 2 --context 32 --experts 2 \
  --batch 4 --steps 2 --eval-interval 2 --warmup 1 --name wide --quiet
wide=$(sed -nE 's/.*last checkpoint: //p' "$tmp/out")
must_fail "$wide.*width 48.*differs" merge --method linear "$tmp/code" "$wide" --out "$tmp/bad"
must_fail "ties .*needs --base" merge --method ties "$tmp/code" "$tmp/lic" --out "$tmp/bad"
must_fail "$tmp/nothing.*no such file" merge --method linear "$tmp/nothing" --out "$tmp/bad"
must_fail "density must be in" merge --method ties --base "$ckpt" "$tmp/code" --density 1.5 --out "$tmp/bad"
must_fail "unknown --method" merge --method slerp "$tmp/code" --out "$tmp/bad"
must_fail "m-ties" merge --method linear "$tmp/code" --out "$tmp/m-ties"
[[ ! -e $tmp/bad ]] || fail "a failed merge left $tmp/bad behind"
echo "all $n checks passed"
