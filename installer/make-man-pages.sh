#!/usr/bin/env bash
# Makes the man pages of the package from the programs' own --help, with help2man (Debian
# package help2man), gzipped as Debian installs them:
#   make-man-pages.sh SOUPLAB_CLI VERSION OUT_DIR [SOUPLAB_GUI]
# souplab-cli.1 (the commands and the exit statuses), souplab-cli-COMMAND.1 for each command
# that `souplab-cli --help` lists (and souplab-cli-corpus-cluster.1), and souplab.1 for the GUI
# when it is given. Called by the souplab_man_pages target (installer/CMakeLists.txt).
set -euo pipefail

cli=$1 version=$2 out=$3 gui=${4:-}
command -v help2man >/dev/null || { echo "make-man-pages: help2man not found (Debian package help2man)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/souplab-man.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"
# The page's date: the source's when reproducible builds set it, else today (help2man reads it).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}

# "  NAME  SUMMARY" lines between "commands:" and the next blank line of souplab-cli --help.
mapfile -t commands < <("$cli" --help | sed -n '/^commands:$/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1\t\2/p')
((${#commands[@]} > 0)) || { echo "make-man-pages: no commands in $cli --help" >&2; exit 1; }
commands+=($'corpus cluster\tsplit a folder of unlabelled documents into domains (k-means on n-gram TF-IDF)')

see_also=".BR souplab-cli (1)"
for entry in "${commands[@]}"; do
  name=${entry%%$'\t'*}
  see_also+=$',\n.BR souplab-cli-'"${name// /-}"' (1)'
done
[[ -n $gui ]] && see_also+=$',\n.BR souplab (1)'
printf '[SEE ALSO]\n%s\n' "$see_also" >"$work/see-also.h2m"

page() {  # page OUT_NAME PROGRAM SUMMARY [help2man flags]
  local name=$1 program=$2 summary=$3
  shift 3
  help2man --no-info --section 1 --source "SoupLab $version" --manual "SoupLab manual" \
    --name "$summary" --include "$work/see-also.h2m" "$@" --output "$work/$name.1" "$program"
  gzip -9n <"$work/$name.1" >"$out/$name.1.gz"
}

page souplab-cli "$cli" "train and explore Soup-of-Experts model banks"
for entry in "${commands[@]}"; do
  name=${entry%%$'\t'*} summary=${entry#*$'\t'}
  # help2man names the page after the program it runs: a wrapper named souplab-cli-COMMAND.
  wrapper="$work/souplab-cli-${name// /-}"
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$cli" "$name" >"$wrapper"
  chmod +x "$wrapper"
  page "souplab-cli-${name// /-}" "$wrapper" "$summary" --version-string "$version"
done
if [[ -n $gui ]]; then
  QT_QPA_PLATFORM=offscreen page souplab "$gui" "the SoupLab desktop app: train banks, explore their specialists"
fi
echo "make-man-pages: $(ls "$out" | wc -l) pages in $out"
