#!/bin/sh
# Builds the benchmarks, runs them all and writes their tables into docs/BENCHMARKS.md (between
# the "results" markers; the hand-written analysis around them is kept).
#
#   bench/run_all.sh [--quick] [--threads N] [--build-dir DIR] [--no-build] [--out FILE]
#
# Needs Debian's python3-torch for the Python peer (installed with apt-get when missing and
# running as root) and runs the peer under /usr/bin/python3, never a pyenv shim.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="$src/../build-bench"
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

if [ "$do_build" = 1 ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF \
        -DSOUPLAB_BUILD_TESTS=OFF -DSOUPLAB_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target bench_instantiate bench_train_step bench_peer bench_memory -j2
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
run peer "$b/bench_peer" $quick --threads "$threads"
run memory_soup "$b/bench_memory" $quick --threads "$threads" --experts 8
run memory_dense "$b/bench_memory" $quick --threads "$threads" --experts 0
run memory_cand "$b/bench_memory" $quick --threads "$threads" --experts 8 --variant candidate
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
[ -n "$blas" ] || blas="unknown"
torch_pkg=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo "?")
pytorch=$(/usr/bin/python3 -c "import torch; print(torch.__version__)")
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cpus=$(nproc)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')

{
  echo "<!-- results:begin (written by bench/run_all.sh; edit outside these markers) -->"
  echo "## Results"
  echo
  echo "Run $start, mode: ${quick:-full}. Machine: $model, $cpus CPUs, $mem RAM; libtorch-dev $torch_pkg;"
  echo "BLAS \`$blas\`; Python peer: /usr/bin/python3, torch $pytorch; threads: $threads on both sides."
  echo "Load average (1/5/15 min) before: $load_before, after: $load_after (the machine is shared: read ratios, not absolutes)."
  echo
  echo "Commands (\$BUILD = the build directory):"
  echo
  echo '```'
  cat "$tmp/commands"
  echo '```'
  echo
  for f in instantiate train_step peer memory_soup memory_dense memory_cand; do
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
