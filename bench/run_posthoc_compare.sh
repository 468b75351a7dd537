#!/bin/sh
# The post-hoc comparison (issue 9, docs/DESIGN.md §1.3-1.4): on 4 domains of ../shared/corpus, trains a
# generic dense base and a soup of the same size and budget, per-domain LoRA experts, PHATGOOSE
# (and its prototype / Arrow / merged baselines), full fine-tuned experts and WEMoE (one router per
# target mixture), then compares their validation losses per domain and on held-out target
# mixtures with `souplab-cli compare`, and writes the table between the "posthoc_compare" markers
# of docs/RESULTS.md. Tiny budget: ~10-15 minutes on 2 shared cores.
#
#   bench/run_posthoc_compare.sh [--cli PATH] [--work DIR] [--out FILE] [--scale X]
#
# --scale multiplies every step count (0.2 for a smoke run).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
cli="$src/build/app/souplab-cli"
work="$src/../posthoc-work"
out="$src/docs/RESULTS.md"
scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) cli="$2"; shift ;;
    --work) work="$2"; shift ;;
    --out) out="$2"; shift ;;
    --scale) scale="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
steps() { awk "BEGIN { s = int($1 * $scale); print (s < 1 ? 1 : s) }"; }

shared="${SOUPLAB_SHARED_CORPUS:-$src/../shared/corpus}"
domains="code_c code_python bible_kjv manpages_de"
rm -rf "$work"
mkdir -p "$work/corpus"
# 1.5 MB of each domain keeps tokenising and the budget small.
for d in $domains; do
  mkdir -p "$work/corpus/$d"
  head -c 1500000 "$shared/$d/data.txt" > "$work/corpus/$d/data.txt"
done
export SOUPLAB_DATA_DIR="$work/data" SOUPLAB_CACHE_DIR="$work/cache" OMP_NUM_THREADS=2
start=$(date +%s)
model="--layers 2 --width 128 --heads 4 --context 64 --batch 16 --eval-windows 16"
train_steps=$(steps 800)
"$cli" train --corpus "$work/corpus" --kind dense $model --steps "$train_steps" --warmup 50 \
  --out "$work/generic" --name generic > "$work/generic.log" 2>&1
"$cli" train --corpus "$work/corpus" --kind soup --experts 4 --coef-hidden 64 $model \
  --steps "$train_steps" --warmup 50 --out "$work/soup" --name soup > "$work/soup.log" 2>&1
base=$(ls "$work"/generic/step_*.ckpt | tail -1)
soup=$(ls "$work"/soup/step_*.ckpt | tail -1)
common="--batch 16 --windows 16 --quiet"
"$cli" experts "$base" --kind lora --rank 16 --steps "$(steps 200)" --out "$work/lora" $common
"$cli" experts "$base" --kind full --steps "$(steps 200)" --out "$work/full" $common
for r in phatgoose prototype arrow merged; do
  "$cli" phatgoose "$work/lora" --router "$r" --gate-steps "$(steps 100)" --out "$work/pg_$r" $common
done
t1="code_c=0.5,bible_kjv=0.5"
t2="code_python=0.5,manpages_de=0.5"
"$cli" wemoe "$base" "$work/full" --target-weights "$t1" --steps "$(steps 300)" --lr 1e-3 \
  --out "$work/wemoe_t1" $common
"$cli" wemoe "$base" "$work/full" --target-weights "$t2" --steps "$(steps 300)" --lr 1e-3 \
  --out "$work/wemoe_t2" $common
# Merges (mergekit semantics) of the full experts of each target's domains, weighted by the
# target's h, over the generic base: `merge_<method>_t1` is built for the first target column,
# `_t2` for the second, like WEMoE's routers.
merged=""
merge_target() {  # $1 = t1|t2, then "domain:weight" pairs
  tag="$1"; shift
  inputs=""
  for dw in "$@"; do inputs="$inputs $work/full/expert_$dw"; done
  for m in linear task_arithmetic ties dare; do
    with_base="--base $base"
    [ "$m" = linear ] && with_base=""  # linear averages the experts themselves
    "$cli" merge --method "$m" $with_base $inputs --out "$work/merge_${m}_$tag" \
      --format safetensors --no-eval > "$work/merge_${m}_$tag.log" 2>&1
    merged="$merged $work/merge_${m}_$tag"
  done
}
merge_target t1 code_c:0.5 bible_kjv:0.5
merge_target t2 code_python:0.5 manpages_de:0.5
"$cli" compare --windows 16 --target "$t1;$t2;code_c=1;manpages_de=1" --markdown "$work/table.md" \
  "$base" "$soup" "$work/lora" "$work/full" "$work/pg_phatgoose" "$work/pg_prototype" \
  "$work/pg_arrow" "$work/pg_merged" "$work/wemoe_t1" "$work/wemoe_t2" $merged > /dev/null
elapsed=$(( $(date +%s) - start ))

note="merges: \`souplab-cli merge\` of the two full experts of each target's domains with the target's weights over the generic base (linear, task arithmetic, TIES, DARE; lambda 1, density 0.5); \`merge_*_t1\` is built for the first target column, \`merge_*_t2\` for the second."
section="$work/section.md"
{
  echo "<!-- posthoc_compare:begin -->"
  echo "## Post-hoc experts vs the soup (issue 9)"
  echo
  echo "Validation loss (nats/byte, lower is better) on 4 domains of ../shared/corpus (first 1.5 MB"
  echo "each), models of 2 layers, width 128, context 64. generic: dense base, $train_steps steps of 16"
  echo "sequences on the uniform mixture; soup: 4 experts, same size and budget, evaluated as the"
  echo "specialist at each column's h (one-hot for a domain, the target's h for a target: zero-shot,"
  echo "no retraining). From the generic base: LoRA experts (r = 16, $(steps 200) steps each on their"
  echo "own domain; the \`lora\` and \`full\` rows use the expert of the column's main domain, i.e."
  echo "they know the target's domain; on a tie, the first in domain order), PHATGOOSE (gates $(steps 100) steps per expert, top-2) and its"
  echo "baselines with the same routing (prototype, Arrow, merged = average of the LoRA experts),"
  echo "full fine-tuned experts ($(steps 200) steps), WEMoE (lambda = 0.3, router trained $(steps 300) steps, Adam 1e-3"
  echo "on the training split of its target; \`wemoe_t1\` is trained for the first target column,"
  echo "\`wemoe_t2\` for the second, so only that column is a fair comparison for each)."
  echo "Targets are mixtures of the domains' validation windows (h-weighted mean loss). $note"
  echo "Total time: ${elapsed} s on this machine."
  echo
  cat "$work/table.md"
  echo
  echo "Command: \`bench/run_posthoc_compare.sh\`"
  echo "<!-- posthoc_compare:end -->"
} > "$section"
if grep -q "posthoc_compare:begin" "$out" 2>/dev/null; then
  awk -v f="$section" '
    /posthoc_compare:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
    /posthoc_compare:end/ { skip = 0; next }
    !skip { print }' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
  { echo; cat "$section"; } >> "$out"
fi
cat "$section"
