#!/usr/bin/env bash
# Builds the .deb from a build tree, unpacks it and checks it:
#   test_deb.sh CPACK BUILD_DIR VERSION gui|nogui [man|noman]
# Files (binaries, copyright, desktop entry and icon with the GUI, man pages made by help2man),
# control fields (Depends names libtorch, and Qt with the GUI), the unpacked binaries run and
# print the version, and apt-get can resolve the package on this machine (simulated, nothing
# is installed).
set -euo pipefail

cpack=$1 build=$2 version=$3 gui=$4 man=${5:-noman}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/souplab-deb-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

[[ -f "$build/CPackConfig.cmake" ]] || fail "no $build/CPackConfig.cmake (installer/CMakeLists.txt not included?)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found"

# 1. cpack into a temporary folder, so the test never touches packages in the build tree.
(cd "$tmp" && "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
debs=("$tmp"/out/souplab_"$version"_*.deb)
[[ -f "${debs[0]}" ]] || { ls -l "$tmp/out" >&2; fail "no souplab_${version}_*.deb made"; }
deb=${debs[0]}
ok "cpack made $(basename "$deb") ($(du -k "$deb" | cut -f1) KB)"

# 2. Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == souplab ]] || fail "Package is '$(field Package)'"
[[ "$(field Version)" == "$version" ]] || fail "Version is '$(field Version)', want $version"
[[ "$(field Section)" == science ]] || fail "Section is '$(field Section)'"
[[ -n "$(field Maintainer)" ]] || fail "no Maintainer"
depends=$(field Depends)
echo "   Depends: $depends"
grep -q "libtorch" <<<"$depends" || fail "Depends does not name libtorch"
grep -q "libopenblas0" <<<"$depends" || fail "Depends does not name OpenBLAS"
if [[ $gui == gui ]]; then
  grep -q "libqt6" <<<"$depends" || fail "Depends does not name Qt 6 (libqt6*)"
  grep -q "libqcustomplot" <<<"$depends" || fail "Depends does not name QCustomPlot"
  ok "control fields: Package, Version $version, Section science; Depends names libtorch, OpenBLAS, Qt 6, QCustomPlot"
else
  ok "control fields: Package, Version $version, Section science; Depends names libtorch, OpenBLAS (no GUI in this build: Qt not expected)"
fi

# 3. Files.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
[[ -x "$root/usr/bin/souplab-cli" ]] || fail "usr/bin/souplab-cli missing"
copyright=$root/usr/share/doc/souplab/copyright
[[ -f "$copyright" ]] || fail "usr/share/doc/souplab/copyright missing"
head -1 "$copyright" | grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ||
  fail "copyright is not in DEP-5 format"
grep -q "^License: GPL-3.0-or-later" "$copyright" || fail "copyright does not name GPL-3.0-or-later"
grep -q "QCustomPlot" "$copyright" || fail "copyright does not name QCustomPlot"
ok "usr/bin/souplab-cli and the DEP-5 copyright (GPL-3.0-or-later, QCustomPlot) are in the package"

desktop=$root/usr/share/applications/souplab.desktop
icon=$root/usr/share/icons/hicolor/scalable/apps/souplab.svg
if [[ $gui == gui ]]; then
  [[ -x "$root/usr/bin/souplab" ]] || fail "usr/bin/souplab missing"
  [[ -f "$desktop" ]] || fail "usr/share/applications/souplab.desktop missing"
  grep -qx "\[Desktop Entry\]" "$desktop" || fail "souplab.desktop has no [Desktop Entry] group"
  grep -qx "Type=Application" "$desktop" || fail "souplab.desktop: Type is not Application"
  exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
  [[ -x "$root/usr/bin/$exec_bin" ]] || fail "souplab.desktop: Exec=$exec_bin is not in usr/bin"
  # A bank given to the entry (a file manager's "Open with") reaches the app as its argument.
  grep -qx "Exec=$exec_bin %f" "$desktop" || fail "souplab.desktop: Exec does not pass the file (%f)"
  icon_name=$(sed -n 's/^Icon=//p' "$desktop")
  [[ "$icon_name" == souplab ]] || fail "souplab.desktop: Icon=$icon_name, want souplab"
  [[ -f "$icon" ]] || fail "usr/share/icons/hicolor/scalable/apps/souplab.svg missing"
  grep -q "<svg" "$icon" || fail "souplab.svg is not an SVG"
  if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$desktop" || fail "desktop-file-validate rejects souplab.desktop"
  fi
  ok "usr/bin/souplab, souplab.desktop (Exec=$exec_bin, Icon=$icon_name) and the scalable icon are in the package"
else
  # Without the GUI a menu entry would point at nothing.
  [[ ! -e "$desktop" ]] || fail "souplab.desktop packaged without the GUI"
  ok "no GUI in this build: no desktop entry packaged (the GUI build checks it and the icon)"
fi

# 4. Man pages, made from --help by help2man: one for souplab-cli, one per command, one for the GUI.
mandir=$root/usr/share/man/man1
if [[ $man == man ]]; then
  pages=(souplab-cli souplab-cli-train souplab-cli-generate souplab-cli-export souplab-cli-runs souplab-cli-compare)
  [[ $gui == gui ]] && pages+=(souplab)
  for p in "${pages[@]}"; do
    [[ -f "$mandir/$p.1.gz" ]] || fail "usr/share/man/man1/$p.1.gz missing"
    gzip -t "$mandir/$p.1.gz" || fail "$p.1.gz is not gzip"
    zcat "$mandir/$p.1.gz" | grep -q '^\.TH ' || fail "$p.1.gz is not a man page (no .TH)"
  done
  zcat "$mandir/souplab-cli.1.gz" | grep -q "usage error" || fail "souplab-cli.1 does not state the exit statuses"
  zcat "$mandir/souplab-cli-runs.1.gz" | grep -q -- 'json' || fail "souplab-cli-runs.1 does not document --json"
  if command -v man >/dev/null; then
    man -l "$mandir/souplab-cli-train.1.gz" 2>/dev/null | grep -q "steps" || fail "man cannot render souplab-cli-train.1"
  fi
  ok "man pages in usr/share/man/man1: $(ls "$mandir" | wc -l) pages (${pages[*]} among them), gzipped, rendered by man"
else
  ok "no help2man on the build machine: no man pages expected"
fi

# 5. The unpacked binaries run (their libraries come from this machine's Debian packages).
out=$("$root/usr/bin/souplab-cli" --version)
[[ "$out" == "souplab-cli $version" ]] || fail "souplab-cli --version printed '$out'"
ok "unpacked usr/bin/souplab-cli --version: $out"
if [[ $gui == gui ]]; then
  out=$(QT_QPA_PLATFORM=offscreen "$root/usr/bin/souplab" --version 2>"$tmp/gui.err") ||
    { cat "$tmp/gui.err" >&2; fail "souplab --version failed: $out"; }
  grep -q "$version" <<<"$out" || fail "souplab --version printed '$out'"
  ok "unpacked usr/bin/souplab --version: $out"
fi

# 6. apt would resolve its Depends here (simulation: nothing is installed).
if command -v apt-get >/dev/null; then
  apt-get install -y --simulate "$deb" >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; fail "apt-get install --simulate cannot resolve the package"; }
  grep -q "^Inst souplab " "$tmp/apt.log" || { cat "$tmp/apt.log" >&2; fail "apt-get --simulate would not install souplab"; }
  ok "apt-get install --simulate resolves $(basename "$deb") on this machine"
fi
echo "PASS: $(basename "$deb")"
