#!/usr/bin/env bash
# The GPU check: what a machine with an NVIDIA GPU runs unattended (no network needed) to check
# SoupLab's CUDA path, writing one Markdown report (gpu-check-report.md, or $1).
#   scripts/gpu-check.sh [REPORT.md]
# Exit codes: 0 every check passed; 1 a check failed; 2 no CUDA device here (after checking that
# the CUDA build it would use is there and runs).
#
# What it assumes (written down because the GPU machines have no apt and no network):
# - a CUDA build of souplab-cli: $SOUPLAB_BUILD_DIR, else build-torch2/ (scripts/run-tests.sh
#   --torch pypi makes it). Without one it configures one with the GUI off against python3's
#   torch (torch.utils.cmake_prefix_path), which needs nvcc, cmake, ninja and the engine's
#   libraries (SQLite, nlohmann-json, protobuf, ONNX, xxHash and Gloo headers): installed there, or
#   carried in gpu-node-debs/ (scripts/gpu-node-deps.sh fetch; rehearsed here by
#   scripts/rehearse-gpu-node.sh with those packages hidden).
# - python3 with numpy, to compare exported tensors.
# What it checks: the CUDA tests (ctest -L cuda, when the build has tests); a small bank trained
# 50 steps on the GPU and on the CPU from the same seed (validation losses within 2% of each other:
# reduction order and TF32-free float32 kernels differ, bit equality is not expected); eval,
# generate and export on the GPU, the export against the CPU's from the same checkpoint (max |diff|
# <= 1e-5); the same bank trained with --precision bf16 on the GPU (validation losses within 3%
# of the fp32 CPU run's: bf16 keeps 8 bits of mantissa in the matmuls); training speed GPU vs
# CPU; eval with --precision bf16 (the fused instantiate+cast kernel) against fp32 (1.5%); the
# kernels' benchmark (bench_kernels, when the build has benchmarks): instantiation vs a
# device-to-device copy of the bank, the fused bf16 instantiation vs addmm + cast, the factored
# AdamW step vs the unfused one, on the GPU and on the CPU; the GPU presets' tokens/s and their
# projected time (train --preset NAME --estimate: a minute of real steps each).
set -uo pipefail
cd "$(dirname "$0")/.."
report=${1:-gpu-check-report.md}
build=${SOUPLAB_BUILD_DIR:-build-torch2}
work=$(mktemp -d /tmp/souplab-gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
say() { echo "$*" | tee -a "$report"; }
check() {  # check NAME COMMAND...: runs it, records pass/fail in the report
  local name=$1; shift
  if "$@" >"$work/out.txt" 2>&1; then say "- PASS $name"; else say "- FAIL $name"; failed=1; fi
  sed 's/^/      /' "$work/out.txt" | tail -n 15 >>"$report"
}
: >"$report"
say "# SoupLab GPU check, $(date -u +%FT%TZ) on $(hostname)"

cli="$build/app/souplab-cli"
if [[ ! -x "$cli" ]]; then
  say "building the CUDA build in $build (GUI off) against python3's torch"
  prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || {
    say "no CUDA build in $build and python3 has no torch to build one against"; exit 1; }
  # The tests need Qt 6 Test; without it the check still builds and runs the CLI and the benchmark.
  tests=OFF targets=(souplab-cli bench_kernels)
  if compgen -G "/usr/lib/*/cmake/Qt6Test" >/dev/null || compgen -G "/usr/lib/cmake/Qt6Test" >/dev/null; then
    tests=ON targets+=(test_cuda_kernels)
  else
    say "no Qt 6 Test here: building without the tests (the cuda tests are skipped)"
  fi
  # A node without apt: the engine's Debian libraries come from gpu-node-debs/ (fetched beforehand
  # by scripts/gpu-node-deps.sh, carried with the source tree), unpacked into the build folder.
  deps_args=()
  missing=$(bash scripts/gpu-node-deps.sh missing | tr '\n' ' ')
  if [[ -n "${missing// }" ]]; then
    [[ -d gpu-node-debs ]] || { say "missing here: $missing- run scripts/gpu-node-deps.sh fetch on a Debian 12 machine and carry gpu-node-debs/ along"; exit 1; }
    say "missing here: $missing- using gpu-node-debs/ unpacked into $build/deps-prefix"
    read -r -a deps_args < <(bash scripts/gpu-node-deps.sh unpack gpu-node-debs "$build/deps-prefix")
    prefix="$prefix;$build/deps-prefix/usr"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF -DSOUPLAB_BUILD_BENCH=ON \
    -DSOUPLAB_BUILD_TESTS=$tests "${deps_args[@]}" "-DCMAKE_PREFIX_PATH=$prefix" >>"$report" 2>&1 &&
    # Only what the check runs: the CLI, the cuda tests and the kernels' benchmark (8 minutes in all).
    cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >"$work/build.log" 2>&1 || {
    tail -n 30 "$work/build.log" >>"$report"; say "the CUDA build failed (log above)"; exit 1; }
fi
info=$("$cli" info 2>&1) || { say "souplab-cli info failed: $info"; exit 1; }
printf '```\n%s\n```\n' "$info" >>"$report"
grep -q "^CUDA: compiled" <<<"$info" || { say "$cli is not a CUDA build (see above)"; exit 1; }
devices=$(sed -n 's/^CUDA: compiled ([^)]*), \([0-9]*\) device.*/\1/p' <<<"$info")
if [[ "${devices:-0}" == 0 ]]; then
  say "no CUDA device on this machine: the CUDA build in $build is ready, nothing to check here"
  exit 2
fi

# A small corpus from the repository's own text (the GPU machines have no demo corpus source).
mkdir -p "$work/corpus"/{cpp,docs,scripts}
cat engine/nn/*.cpp engine/core/*.cpp >"$work/corpus/cpp/a.txt"
cat README.md docs/*.md >"$work/corpus/docs/a.txt"
cat scripts/*.sh bench/*.py >"$work/corpus/scripts/a.txt"
common=(--corpus "$work/corpus" --cache-dir "$work/cache" --layers 2 --width 128 --heads 4 --context 128
        --experts 4 --steps 50 --batch 16 --seed 7 --eval-interval 50 --checkpoint-interval 50 --quiet
        --run-log "$work/runs.sqlite")
say "## Training 50 steps, same seed, GPU and CPU"
for dev in cuda cpu; do
  t0=$(date +%s.%N)
  check "train on $dev" "$cli" train "${common[@]}" --device "$dev" --out "$work/run-$dev"
  say "  $dev: $(python3 -c "print(f'{50*16*128/($(date +%s.%N)-$t0):.0f}')") tokens/s including start-up"
done
# bf16 autocast (float32 bank and optimiser state) on the GPU, same seed.
check "train on cuda with --precision bf16" "$cli" train "${common[@]}" --device cuda --precision bf16 --out "$work/run-bf16"
ck() { ls "$work/run-$1"/step_*.ckpt 2>/dev/null | tail -n 1; }
same_losses() {  # same_losses TOLERANCE RUN RUN: per-domain validation losses (evaluated on the CPU)
  python3 - "$1" "$("$cli" eval "$(ck "$2")" --device cpu --json)" "$("$cli" eval "$(ck "$3")" --device cpu --json)" <<'EOF'
import json, sys
tol, a, b = float(sys.argv[1]), json.loads(sys.argv[2])["loss"], json.loads(sys.argv[3])["loss"]
worst = max(abs(x - y) / y for x, y in zip(a, b))
print("first ", a, "\nsecond", b, f"\nlargest relative difference {worst:.4f} (tolerance {tol})")
sys.exit(0 if worst <= tol else 1)
EOF
}
check "validation losses on GPU and CPU runs within 2%" same_losses 0.02 cuda cpu
check "validation losses of the GPU bf16 run within 3% of the CPU fp32 run's" same_losses 0.03 bf16 cpu

say "## Eval, generate and export on the GPU"
check "eval on the GPU" "$cli" eval "$(ck cpu)" --device cuda
same_eval() {  # same_eval TOLERANCE: the bf16 specialist's losses on the GPU against fp32 on the CPU
  python3 - "$1" "$("$cli" eval "$(ck cpu)" --device cuda --precision bf16 --weights onehot:cpp --json)" \
    "$("$cli" eval "$(ck cpu)" --device cpu --weights onehot:cpp --json)" <<'EOF'
import json, sys
tol, a, b = float(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert a["precision"] == "bf16", a["precision"]
worst = max(abs(x - y) / y for x, y in zip(a["loss"], b["loss"]))
print("bf16 ", a["loss"], a["instantiate_ms"], "ms\nfp32 ", b["loss"], b["instantiate_ms"], f"ms\nlargest relative difference {worst:.4f} (tolerance {tol})")
sys.exit(0 if worst <= tol else 1)
EOF
}
check "eval with --precision bf16 on the GPU within 1.5% of fp32 on the CPU" same_eval 0.015
check "generate on the GPU" "$cli" generate "$(ck cpu)" --device cuda --length 80 --seed 1
check "export on the GPU" "$cli" export "$(ck cpu)" --weights onehot:cpp --device cuda --format safetensors --out "$work/export-cuda" --no-eval
check "export on the CPU" "$cli" export "$(ck cpu)" --weights onehot:cpp --device cpu --format safetensors --out "$work/export-cpu" --no-eval
check "GPU export equals the CPU's (max |diff| <= 1e-5)" python3 - "$work/export-cuda/model.safetensors" "$work/export-cpu/model.safetensors" <<'EOF'
import json, struct, sys
import numpy as np
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], np.float32)
            for k, v in head.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
print(f"{len(a)} tensors, max |diff| {worst:.2e}")
sys.exit(0 if a.keys() == b.keys() and worst <= 1e-5 else 1)
EOF
# The GPU presets (souplab/presets.h) measured: each trains for about a minute on the GPU
# (`--estimate` times a few real steps of the preset's config), giving tokens/s and the time the
# whole preset would take here, to replace the roofline's estimate in docs/RESULTS.md.
say "## The GPU presets, measured here"
for preset in gpu-30min gpu-8h; do
  if timeout 300 "$cli" train --preset "$preset" --device cuda --estimate --estimate-seconds 60 >"$work/preset.txt" 2>&1; then
    say "- $preset: $(grep -m1 '^estimate:' "$work/preset.txt")"
  else
    say "- $preset: the estimate failed:"; sed 's/^/      /' "$work/preset.txt" | tail -n 5 >>"$report"
  fi
done
bench="$build/bench/bench_kernels"
if [[ ! -x "$bench" ]] && grep -q "SOUPLAB_BUILD_BENCH:BOOL=ON" "$build/CMakeCache.txt" 2>/dev/null; then
  cmake --build "$build" --target bench_kernels >/dev/null 2>&1
fi
if [[ -x "$bench" ]]; then
  say "## The bank's kernels (bench_kernels)"
  for dev in cuda cpu; do
    timeout 120 "$bench" --device "$dev" --threads "$(nproc)" --reps $([[ $dev == cuda ]] && echo 25 || echo 5) >>"$report" 2>&1 \
      || say "- bench_kernels on $dev did not finish"
  done
else
  say "- bench_kernels not built here (configure with -DSOUPLAB_BUILD_BENCH=ON for the kernels' timings)"
fi
if [[ -f "$build/CTestTestfile.cmake" ]]; then
  say "## CUDA tests"
  check "ctest -L cuda" ctest --test-dir "$build" -L cuda --output-on-failure
fi
say "result: $([[ $failed == 0 ]] && echo "all checks passed" || echo "some checks FAILED")"
exit $failed
