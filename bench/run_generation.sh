#!/bin/sh
# Greedy generation speed of a specialist at the ladder's three sizes (L2 C64, L4 C128, L4 C256)
# in souplab (`generate --timing`: in process, after the first byte) against the same specialist
# exported with `--format all` in transformers, onnxruntime and llama.cpp (bench/gen_peers.py),
# same threads, prompt and length, batch 1 and 8 where the tool batches (souplab: --samples 8). Each bank is trained
# for a few steps only (generation speed does not depend on what was learnt). Markdown on stdout.
#
#   bench/run_generation.sh BUILD_DIR VENV_PYTHON [--threads N] [--length 200] [--reps 3]
#                           [--corpus DIR] [--work DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: bench/run_generation.sh BUILD_DIR VENV_PYTHON [--threads N] [--length N] [--reps N] [--corpus DIR] [--work DIR]"
build=${1:?"$usage"}
python=${2:?"$usage"}
shift 2
threads=1 length=200 reps=3 corpus="$here/../../shared/corpus" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift ;;
    --length) length=$2; shift ;;
    --reps) reps=$2; shift ;;
    --corpus) corpus=$2; shift ;;
    --work) work=$2; shift ;;
    *) echo "run_generation: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -d "$corpus" ] || corpus=""  # none: the CLI's demo corpus
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cli="$build/app/souplab-cli"
prompt="int main(void) {"
echo "### Greedy generation ($(basename "$build")), tokens (bytes) per second after the first: $threads thread(s), prompt \"$prompt\", $length new bytes, medians of $reps runs"
echo
echo "| size | engine | batch | tokens/s | souplab / this |"
echo "| --- | --- | --- | --- | --- |"
for size in "2 64" "4 128" "4 256"; do
  set -- $size
  name="L$1-C$2"
  run="$work/run-$name"
  if [ ! -d "$work/export-$name" ]; then
    "$cli" train ${corpus:+--corpus "$corpus"} --cache-dir "$work/cache" --layers "$1" --width "$2" --steps 20 \
      --eval-interval 1000 --threads "$threads" --out "$run" --run-log "$work/runs.sqlite" >/dev/null 2>&1
    ckpt=$(find "$run" -name '*.ckpt' | sort | tail -n 1)
    "$cli" export "$ckpt" --weights uniform --format all --no-eval --out "$work/export-$name" \
      --run-log "$work/runs.sqlite" >/dev/null
    echo "$ckpt" > "$work/export-$name.ckpt"
  fi
  ckpt=$(cat "$work/export-$name.ckpt")
  # batch:flags — batch 8 through --samples 8 (eight continuations in one batch); f16: the
  # weights in half, as llama.cpp runs model-f16.gguf. The ratio column compares souplab's
  # float32 rows with each peer at the same batch.
  for variant in "1:" "8:" "1:--f16"; do
    batch=${variant%%:*} flags=${variant#*:}
    rates=""
    for _ in $(seq "$reps"); do
      "$cli" generate "$ckpt" --weights uniform --prompt "$prompt" --length "$length" --temperature 0 \
        --samples "$batch" --threads "$threads" $flags --timing 2>"$work/timing" >/dev/null
      rates="$rates $(sed -n 's/.* then \([0-9.]*\) bytes\/s$/\1/p' "$work/timing")"
    done
    median=$(printf '%s\n' $rates | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    if [ -z "$flags" ]; then
      eval "souplab_b$batch=$median"
      printf '| L%s C%s | souplab generate (fp32, KV cache) | %s | %.0f | 1.00x |\n' "$1" "$2" "$batch" "$median"
    else
      printf '| L%s C%s | souplab generate %s (f16 weights) | %s | %.0f | %.2fx |\n' "$1" "$2" "$flags" "$batch" \
        "$median" "$(awk -v a="$souplab_b1" -v b="$median" 'BEGIN { print a / b }')"
    fi
  done
  "$python" "$here/gen_peers.py" "$work/export-$name" --prompt "$prompt" --length "$length" --threads "$threads" \
    --reps "$reps" | awk -v s1="$souplab_b1" -v s8="$souplab_b8" -v size="L$1 C$2" -F'|' \
    '{ s = ($3 + 0 == 1) ? s1 : s8; printf "| %s |%s|%s| %.0f | %.2fx |\n", size, $2, $3, $4, s / $4 }'
done
echo
