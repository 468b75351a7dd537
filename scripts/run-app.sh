#!/usr/bin/env bash
# One command from a fresh clone to the running app: install what is missing, build, start.
# On first launch the app opens its quick start: it builds the demo corpus from text on this
# machine and trains a small bank with the curves moving.
#   scripts/run-app.sh [--torch debian|pypi] [app arguments]
# --torch pypi builds against the PyPI torch wheel's CUDA-enabled libtorch (build-torch2/), the
# build that trains on an NVIDIA GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/torch-choice.sh
bash scripts/install-deps.sh
bash scripts/configure-and-build.sh --torch "$torch_kind"
exec "$build/app/souplab" --quick-start "${rest[@]}"
