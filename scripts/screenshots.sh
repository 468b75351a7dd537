#!/bin/sh
# Regenerates docs/screenshots/*.png: starts souplab under Xvfb with the hidden
# --demo-screenshots flag, which trains a tiny bank on the demo corpus, opens it in the explorer,
# moves the domain sliders and grabs each main tab (QWidget::grab). A throwaway profile (config,
# data, cache) keeps the user's settings and run log out of it and shows a first launch.
# Usage: scripts/screenshots.sh [build dir] [output dir] [bank.ckpt prefix]
# With a bank (e.g. a real 14- or 64-domain one), no demo training: that bank's explorer views
# only, written as <prefix>explorer*.png.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
out=${2:-$here/docs/screenshots}
app=$build/app/souplab
[ -x "$app" ] || { echo "screenshots.sh: $app not built (cmake --build $build --target souplab)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "screenshots.sh: xvfb-run missing (apt-get install xvfb xauth)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM
mkdir -p "$out"
XDG_CONFIG_HOME=$profile/config SOUPLAB_DATA_DIR=$profile/data SOUPLAB_CACHE_DIR=$profile/cache \
XDG_RUNTIME_DIR=$profile OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} \
SOUPLAB_SCREENSHOT_BANK=${3:+$(realpath "$3")} SOUPLAB_SCREENSHOT_PREFIX=${4:-} \
  xvfb-run -a -s "-screen 0 1600x1000x24" "$app" --demo-screenshots "$out"
ls -l "$out"/${4:-}*.png
