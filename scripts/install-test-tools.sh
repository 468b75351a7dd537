#!/bin/sh
# Installs the JavaScript tools the export tests use into DIR (default: ./test-tools):
# onnxruntime-node, an ONNX runtime independent of libtorch and of the onnx C++ library.
# Idempotent: does nothing when the pinned version is already there.
# --ignore-scripts: the package's install script would download GPU binaries from a host
# that is not reachable here; the CPU runtime ships inside the package itself.
set -eu
ORT_VERSION=1.30.0
dir=${1:-test-tools}
if ! command -v npm >/dev/null 2>&1; then
  echo "install-test-tools: npm not found (apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$dir"
pkg="$dir/node_modules/onnxruntime-node/package.json"
if [ -f "$pkg" ] && grep -q "\"version\": \"$ORT_VERSION\"" "$pkg"; then
  echo "install-test-tools: onnxruntime-node $ORT_VERSION already in $dir/node_modules"
  exit 0
fi
# A package.json of its own keeps npm from walking up into a parent project.
[ -f "$dir/package.json" ] || echo '{ "name": "souplab-test-tools", "private": true }' > "$dir/package.json"
cd "$dir"
npm install --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION"
node -e "require('onnxruntime-node'); console.log('install-test-tools: onnxruntime-node ok')"
