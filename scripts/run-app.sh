#!/usr/bin/env bash
# One command from a fresh clone to the running app: install what is missing, build, start.
# On first launch the app opens its quick start: it builds the demo corpus from text on this
# machine and trains a small bank with the curves moving.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/configure-and-build.sh
exec "${SOUPLAB_BUILD_DIR:-build}/app/souplab" --quick-start "$@"
