#!/bin/sh
# souplab's dense and soup training steps against PyTorch 2.x from Python at the three sizes of
# the ladder (L2 C64, L4 C128, L4 C256; the presets' batch 16 x 256), each through bench_peer
# (interleaved rounds, the same weights, batch and h rows, losses printed side by side), then one
# summary table across sizes. Markdown on stdout; bench/run_all.sh calls it for both builds.
#
#   bench/run_peers.sh BUILD_DIR VENV_PYTHON [--threads N] [--quick] [--experts 8]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?"usage: bench/run_peers.sh BUILD_DIR VENV_PYTHON [--threads N] [--quick] [--experts N]"}
venv_python=${2:?"usage: bench/run_peers.sh BUILD_DIR VENV_PYTHON [--threads N] [--quick] [--experts N]"}
shift 2
threads=2 quick="" experts=8
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift ;;
    --quick) quick="--quick" ;;
    --experts) experts=$2; shift ;;
    *) echo "run_peers: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in "2 64" "4 128" "4 256"; do
  set -- $size
  for n in 0 "$experts"; do
    echo "run_peers: L$1 C$2, experts $n" >&2
    # shellcheck disable=SC2086
    "$build/bench/bench_peer" $quick --threads "$threads" --layers "$1" --width "$2" --experts "$n" \
      --python "" --venv-python "$venv_python" 2>"$tmp/stderr" | tee -a "$tmp/all.md" \
      || { cat "$tmp/stderr" >&2; exit 1; }
  done
done
python3 "$here/peer_summary.py" "$tmp/all.md"
