#!/usr/bin/env bash
# Installs what SoupLab needs to build, run and test on Debian 12, from Debian's archive only.
# Idempotent: installs only what is missing (apt-get update runs only then). Needs root or sudo.
#   scripts/install-deps.sh          build + run + test dependencies
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  dpkg-dev                                                 # dpkg-shlibdeps: the .deb's Depends
  help2man                                                 # the .deb's man pages, made from --help
  qt6-base-dev qt6-base-dev-tools                          # Qt 6 Widgets, Test, PrintSupport (the run log is SQLite's C API, not Qt Sql)
  libqcustomplot-dev libqcustomplot2.1-qt6                 # QCustomPlot, Qt 6 build
  libtorch-dev libgloo-dev                                 # libtorch (CPU build) and its c10d/Gloo headers
  libdnnl-dev                                              # oneDNN's header: the linear layers' GEMM (engine/nn/cpu_gemm.h)
  libxxhash-dev                                            # XXH3 checksums of every file we write (header-only use)
  libopenblas0-openmp                                      # without it libtorch falls back to reference BLAS: 30x slower
  libsqlite3-dev nlohmann-json3-dev                        # run log, JSON
  libonnx-dev libprotobuf-dev                              # ONNX export through ONNX's protobuf definitions
  fortunes                                                 # English prose for the demo corpus
  python3-onnx python3-numpy                               # tests: onnx.checker, independent safetensors reader
  python3-venv                                             # the PyPI tools' venv (scripts/install-py-tools.sh)
  clang libclang-rt-14-dev sqlite3                         # tests: libFuzzer targets, run log integrity checks
  xvfb xauth x11-apps imagemagick libgl1-mesa-dri          # GUI under Xvfb (screenshots)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
else
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libtorch must use OpenBLAS, not the reference BLAS (checked, since it is 30x slower).
if command -v update-alternatives >/dev/null 2>&1; then
  if ! update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep -q "^Value: .*openblas"; then
    echo "install-deps: warning: libblas.so.3 does not point at OpenBLAS; training will be slow" >&2
  fi
fi
