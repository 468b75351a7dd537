#!/usr/bin/env bash
# A screenshot of the explorer on a laptop-sized screen, for docs/screenshots:
#   scripts/screenshot-explorer.sh BANK.ckpt OUT.png [WIDTHxHEIGHT (1366x768)] [SECONDS (40)] [COMPARE.ckpt]
# Opens BANK in the app under Xvfb with a fresh profile, waits SECONDS for the first bars, and
# captures the whole screen (so a window larger than the screen would show cut off).
set -euo pipefail
bank=$1 out=$2 size=${3:-1366x768} wait_s=${4:-40} compare=${5:-}
cd "$(dirname "$0")/.."
app=${SOUPLAB_BUILD_DIR:-build}/app/souplab
[ -x "$app" ] || { echo "screenshot-explorer.sh: $app not built" >&2; exit 1; }
command -v xvfb-run >/dev/null && command -v import >/dev/null ||
  { echo "screenshot-explorer.sh: needs xvfb-run and imagemagick's import" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM
export XDG_CONFIG_HOME=$profile/config SOUPLAB_DATA_DIR=$profile/data XDG_RUNTIME_DIR=$profile
# With COMPARE the bars pair the specialist with that model (e.g. the equal-budget dense one).
xvfb-run -a -s "-screen 0 ${size}x24" sh -c '"$0" --open "$1" ${4:+--compare "$4"} & app=$!; sleep "$2"; import -window root "$3"; kill $app' \
  "$(realpath "$app")" "$(realpath "$bank")" "$wait_s" "$(realpath -m "$out")" "${compare:+$(realpath "$compare")}"
echo "wrote $out"
