#!/usr/bin/env bash
# One command from a fresh clone to a passing test suite: install what is missing (Debian
# packages; the Python test tools from PyPI), build, run every test with CTest.
#   scripts/run-tests.sh [--torch debian|pypi] [ctest arguments]
# --torch pypi builds against the PyPI torch wheel's libtorch (CUDA-enabled) in build-torch2/
# and runs the same suite there on the CPU (CUDA-only tests show as skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/torch-choice.sh
bash scripts/install-deps.sh
venv=$(bash scripts/install-py-tools.sh)
bash scripts/configure-and-build.sh --torch "$torch_kind" "-DSOUPLAB_PY_VENV=$venv"
# The independent ONNX and transformers comparisons must run, not skip, when run this way.
export SOUPLAB_REQUIRE_TEST_TOOLS=1 SOUPLAB_PY_VENV="$venv"
cd "$build"
ctest --output-on-failure --timeout 1200 -j 2 "${rest[@]}"
