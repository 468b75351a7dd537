#!/usr/bin/env bash
# Rehearses, on this Debian machine, the build scripts/gpu-check.sh does on a GPU node that has
# no package manager and no network: inside a private mount namespace the Debian packages of
# scripts/gpu-node-deps.sh are hidden (their headers, libraries and CMake files vanish from
# /usr), so the build can only succeed through gpu-node-debs/ unpacked into a prefix, against
# python3's torch (here: the project's venv). Prints what it hid, the configure line and the
# build time.
#
#   scripts/rehearse-gpu-node.sh [--python VENV/bin/python] [--build DIR] [--targets "T1 T2"] [-j N]
# Needs root (unshare -m) and gpu-node-debs/ (scripts/gpu-node-deps.sh fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${SOUPLAB_PY_VENV:-/root/.cache/souplab/py-torch2.11}/bin/python
build=/tmp/souplab-rehearse-build targets="souplab-cli" jobs=$(nproc)
while (($# > 0)); do
  case "$1" in
    --python) python=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    *) echo "rehearse-gpu-node: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -d gpu-node-debs ]] || { echo "rehearse-gpu-node: no gpu-node-debs/ (scripts/gpu-node-deps.sh fetch)" >&2; exit 1; }
export REHEARSE_PYTHON=$python REHEARSE_BUILD=$build REHEARSE_TARGETS=$targets REHEARSE_JOBS=$jobs
exec unshare -m --propagation private bash -euo pipefail -c '
# hide DIR PATTERN...: DIR keeps every entry except those matching a PATTERN (a symlink farm on
# a tmpfs over DIR pointing at a private bind of the original).
hide() {
  local dir=$1; shift
  local orig=/tmp/rehearse-orig$(echo "$dir" | tr / _)
  mkdir -p "$orig"
  local farm=/tmp/rehearse-farm$(echo "$dir" | tr / _)
  mount --bind "$dir" "$orig"
  mkdir -p "$farm"
  mount -t tmpfs tmpfs "$farm"  # filled first, then put over DIR: /usr/lib holds the C library ln itself needs
  local e name p skip
  for e in "$orig"/*; do
    name=${e##*/}
    skip=0
    for p in "$@"; do [[ "$name" == $p ]] && skip=1; done
    ((skip)) && echo "hidden: $dir/$name" || ln -s "$e" "$farm/$name"
  done
  mount --bind "$farm" "$dir"
}
hide /usr/include "sqlite3*.h" nlohmann onnx google "zlib.h" "zconf.h" "xxh*.h" gloo
hide /usr/lib/x86_64-linux-gnu "libsqlite3*" "libprotobuf*" "libonnx*" "libxxhash*" "libz.so" "libz.a" cmake pkgconfig
mkdir /tmp/rehearse-farm_usr_lib_x86_64-linux-gnu/cmake
for e in /tmp/rehearse-orig_usr_lib_x86_64-linux-gnu/cmake/*; do
  case "${e##*/}" in ONNX|Gloo) echo "hidden: cmake/${e##*/}" ;; *) ln -s "$e" /tmp/rehearse-farm_usr_lib_x86_64-linux-gnu/cmake/ ;; esac
done
mount -t tmpfs tmpfs /usr/share/cmake/nlohmann_json && echo "hidden: /usr/share/cmake/nlohmann_json"
left=$(bash scripts/gpu-node-deps.sh missing | tr "\n" " ")
echo "packages whose files are now missing: $left"
rm -rf "$REHEARSE_BUILD/deps-prefix"  # the build itself is kept: a second rehearsal continues it
start=$(date +%s)
args=$(bash scripts/gpu-node-deps.sh unpack gpu-node-debs "$REHEARSE_BUILD/deps-prefix")
torch_prefix=$("$REHEARSE_PYTHON" -c "import torch.utils; print(torch.utils.cmake_prefix_path)")
echo "configure: -DCMAKE_PREFIX_PATH=$torch_prefix $args"
# shellcheck disable=SC2086
cmake -S . -B "$REHEARSE_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUPLAB_BUILD_GUI=OFF -DSOUPLAB_BUILD_TESTS=OFF \
  -DSOUPLAB_BUILD_BENCH=OFF $args "-DCMAKE_PREFIX_PATH=$torch_prefix;$REHEARSE_BUILD/deps-prefix/usr" >"$REHEARSE_BUILD.configure.log" 2>&1 \
  || { tail -n 30 "$REHEARSE_BUILD.configure.log"; exit 1; }
echo "configured in $(($(date +%s) - start)) s"
# shellcheck disable=SC2086
cmake --build "$REHEARSE_BUILD" -j "$REHEARSE_JOBS" --target $REHEARSE_TARGETS
echo "built $REHEARSE_TARGETS in $(($(date +%s) - start)) s (jobs: $REHEARSE_JOBS)"
'
