#!/usr/bin/env bash
# Configures and builds SoupLab with every core: into ./build against Debian's libtorch, or with
# --torch pypi into ./build-torch2 against the CUDA-enabled libtorch of the PyPI torch wheel
# (scripts/torch-choice.sh). $SOUPLAB_BUILD_DIR overrides the folder. Other arguments go to
# cmake's configure step (e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for an official archive).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/torch-choice.sh
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${torch_cmake[@]}" "${rest[@]}"
elif ((${#rest[@]} > 0)); then
  cmake -S . -B "$build" "${rest[@]}"
fi
cmake --build "$build" -j "$(nproc)"
