#!/usr/bin/env bash
# One command from a fresh clone to a passing test suite: install what is missing, build,
# install the test tools (onnxruntime-node from npm), run every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SOUPLAB_BUILD_DIR:-build}
bash scripts/install-deps.sh
bash scripts/configure-and-build.sh
bash scripts/install-test-tools.sh "$build/test-tools"
# The ONNX comparison must run, not skip, when the suite is run this way.
export SOUPLAB_REQUIRE_TEST_TOOLS=1
cd "$build"
ctest --output-on-failure --timeout 1200 -j 2 "$@"
