#!/bin/sh
# Builds the benchmarks in both builds (Debian's libtorch 1.13 in ../build-bench, the PyPI
# wheel's libtorch 2.x in ../build-bench-torch2), runs them all and writes their tables into
# docs/BENCHMARKS.md (between the "results" markers; the hand-written analysis around them is
# kept). The two builds' headline speeds are measured in alternation (bench_throughput) and
# compared; the Python peers are Debian's PyTorch 1.13 (/usr/bin/python3, python3-torch) and the
# PyPI PyTorch 2.x of the project's venv (eager and torch.compile).
#
#   bench/run_all.sh [--quick] [--threads N] [--build-dir DIR] [--no-build] [--out FILE]
#
# Needs Debian's python3-torch (installed with apt-get when missing and running as root) and
# the venv of scripts/install-py-tools.sh (installed when missing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="$src/../build-bench"
build2=""
quick=""
threads=2
do_build=1
out="$src/docs/BENCHMARKS.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --threads) threads="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    --no-build) do_build=0 ;;
    --out) out="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

[ -n "$build2" ] || build2="$build-torch2"
venv=$(bash "$src/scripts/install-py-tools.sh")
targets="bench_instantiate bench_train_step bench_peer bench_memory bench_throughput souplab-cli"
if [ "$do_build" = 1 ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF \
        -DSOUPLAB_BUILD_TESTS=OFF -DSOUPLAB_BUILD_BENCH=ON >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build" --target $targets -j2
  # The second build: the same configure arguments scripts/torch-choice.sh gives --torch pypi.
  prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  lib=$(cd "$prefix/../../lib" && pwd)
  cmake -S "$src" -B "$build2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF \
        -DSOUPLAB_BUILD_TESTS=OFF -DSOUPLAB_BUILD_BENCH=ON -DCMAKE_PREFIX_PATH="$prefix" \
        -DTORCH_LIBRARY="$lib/libtorch.so" -Dc10_LIBRARY="$lib/libc10.so" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build2" --target $targets -j2
fi

if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends python3-torch python3-numpy >/dev/null \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends python3-torch python3-numpy >/dev/null; }
  else
    echo "python3-torch is missing: sudo apt-get install python3-torch python3-numpy" >&2
    exit 1
  fi
fi

export OMP_NUM_THREADS="$threads"
b="$build/bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {  # run <name> <command...>: output to $tmp/<name>.md, command line recorded
  name=$1; shift
  echo "running: $*" >&2
  printf '%s\n' "$*" | sed "s|$build|\$BUILD|g" >> "$tmp/commands"
  "$@" > "$tmp/$name.md"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u +%Y-%m-%dT%H:%MZ)
run instantiate "$b/bench_instantiate" $quick --threads "$threads"
run train_step "$b/bench_train_step" $quick --threads "$threads"
run peer "$b/bench_peer" $quick --threads "$threads" --venv-python "$venv/bin/python"
run peer2 "$build2/bench/bench_peer" $quick --threads "$threads" --venv-python "$venv/bin/python"
run train_step2 "$build2/bench/bench_train_step" $quick --threads "$threads" --experts 8 --candidate 0
# Three sizes, dense and soup, against PyTorch 2.x eager / torch.compile / the Python soup.
run sizes "$here/run_peers.sh" "$build" "$venv/bin/python" $quick --threads "$threads"
run sizes2 "$here/run_peers.sh" "$build2" "$venv/bin/python" $quick --threads "$threads"
# Generation: souplab against transformers, onnxruntime and llama.cpp on the exported specialist.
gen_reps=5
[ -n "$quick" ] && gen_reps=2
for t in 1 "$threads"; do
  run "gen-$t" "$here/run_generation.sh" "$build" "$venv/bin/python" --threads "$t" --reps "$gen_reps"
  run "gen2-$t" "$here/run_generation.sh" "$build2" "$venv/bin/python" --threads "$t" --reps "$gen_reps"
  [ "$threads" = 1 ] && break
done
# libtorch 1.13 vs 2.x: each build's headline speeds, in alternation, medians of the rounds.
rounds=3
[ -n "$quick" ] && rounds=2
for r in $(seq "$rounds"); do
  for side in "debian|$b/bench_throughput" "pypi-matmul|$build2/bench/bench_throughput --attention matmul" \
              "pypi-fused|$build2/bench/bench_throughput --attention fused"; do
    label=${side%%|*}
    # shellcheck disable=SC2086
    ${side#*|} --threads "$threads" $quick | sed "s/^/$label /" >> "$tmp/throughput.txt"
  done
done
printf '%s\n' "bench_throughput (alternating, $rounds rounds): $b/bench_throughput and $build2/bench/bench_throughput" \
  | sed "s|$build|\$BUILD|g" >> "$tmp/commands"
/usr/bin/python3 - "$tmp/throughput.txt" > "$tmp/throughput.md" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, key, value = line.split()[:3]
    rows.setdefault(side, {}).setdefault(key, []).append(value)
med = lambda side, key: statistics.median(float(v) for v in rows[side][key])
version = lambda side: rows[side]["torch"][0]
print("### libtorch 1.13 (Debian) vs %s (PyPI wheel), same machine, alternating runs\n" % version("pypi-fused"))
print("| metric | libtorch %s | %s, matmul attention | %s, fused attention (engine default) | 2.x fused / 1.13 |"
      % (version("debian"), version("pypi-matmul"), version("pypi-fused")))
print("| --- | --- | --- | --- | --- |")
for key, name, higher in [("dense_tok_s", "dense training, tokens/s", True), ("soup_tok_s", "soup n=8 training, tokens/s", True),
                          ("slider_quick_ms", "slider move, quick tier (ms)", False), ("slider_full_ms", "slider move, full tier (ms)", False)]:
    d, m, f = med("debian", key), med("pypi-matmul", key), med("pypi-fused", key)
    ratio = f / d if higher else d / f
    print("| %s | %.1f | %.1f | %.1f | %.2fx %s |" % (name, d, m, f, ratio, "faster" if ratio >= 1 else "slower"))
print()
print("Fused attention (scaled_dot_product_attention) against the 2.x build's own matmul attention: "
      "dense training %.2fx, slider quick tier %.2fx.\n" % (med("pypi-fused", "dense_tok_s") / med("pypi-matmul", "dense_tok_s"),
                                                          med("pypi-matmul", "slider_quick_ms") / med("pypi-fused", "slider_quick_ms")))
PY
run memory_soup "$b/bench_memory" $quick --threads "$threads" --experts 8
run memory_dense "$b/bench_memory" $quick --threads "$threads" --experts 0
run memory_cand "$b/bench_memory" $quick --threads "$threads" --experts 8 --variant candidate
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
[ -n "$blas" ] || blas="unknown"
torch_pkg=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo "?")
pytorch=$(/usr/bin/python3 -c "import torch; print(torch.__version__)")
pytorch2=$("$venv/bin/python" -c "import torch; print(torch.__version__)")
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cpus=$(nproc)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')

{
  echo "<!-- results:begin (written by bench/run_all.sh; edit outside these markers) -->"
  echo "## Results"
  echo
  echo "Run $start, mode: ${quick:-full}. Machine: $model, $cpus CPUs, $mem RAM; libtorch-dev $torch_pkg;"
  echo "BLAS \`$blas\`; Python peers: /usr/bin/python3, torch $pytorch, and the venv's torch $pytorch2; threads: $threads on every side."
  echo "Builds: \$BUILD against Debian's libtorch, \$BUILD-torch2 against the PyPI wheel's (tables titled libtorch 2.x)."
  echo "Load average (1/5/15 min) before: $load_before, after: $load_after (the machine is shared: read ratios, not absolutes)."
  echo
  echo "Commands (\$BUILD = the build directory):"
  echo
  echo '```'
  cat "$tmp/commands"
  echo '```'
  echo
  gens="gen-1 gen2-1"
  [ "$threads" = 1 ] || gens="$gens gen-$threads gen2-$threads"
  for f in throughput instantiate train_step train_step2 peer peer2 sizes sizes2 $gens memory_soup memory_dense memory_cand; do
    grep -v '^<!--' "$tmp/$f.md"
  done
  echo "<!-- results:end -->"
} > "$tmp/results.md"

if [ -f "$out" ] && grep -q '<!-- results:begin' "$out"; then
  awk -v res="$tmp/results.md" '
    /<!-- results:begin/ { while ((getline line < res) > 0) print line; skip = 1; next }
    /<!-- results:end/ { skip = 0; next }
    !skip { print }' "$out" > "$tmp/out.md"
  cp "$tmp/out.md" "$out"
else
  mkdir -p "$(dirname "$out")"
  { echo "# Benchmarks"; echo; cat "$tmp/results.md"; } > "$out"
fi
echo "wrote $out" >&2
