# Shared by the CLI test scripts (sourced): check helpers and the 3-domain test corpus.
# Needs $cli, $src and $tmp set by the script that sources it.

n=0
fail() {
  echo "FAIL: $*" >&2
  [[ -s $tmp/out ]] && { echo "--- stdout:" >&2; tail -20 "$tmp/out" >&2; }
  [[ -s $tmp/err ]] && { echo "--- stderr:" >&2; tail -20 "$tmp/err" >&2; }
  exit 1
}
ok() { n=$((n + 1)); echo "ok $n: $*"; }
# run ARGS...: runs the CLI, stdout in $tmp/out, stderr in $tmp/err, exit code in $rc.
run() {
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
must_succeed() {
  run "$@"
  ((rc == 0)) || fail "souplab-cli $* exited $rc"
}
# must_fail PATTERN ARGS...: non-zero exit and an error on stderr matching PATTERN (grep -E).
must_fail() {
  local pattern=$1
  shift
  run "$@"
  ((rc != 0)) || fail "souplab-cli $* exited 0, expected an error"
  grep -Eq -- "$pattern" "$tmp/err" || fail "souplab-cli $*: stderr does not match /$pattern/"
  ok "souplab-cli $* fails (exit $rc): $(head -1 "$tmp/err")"
}

# The corpus: 3 domains of > 40 KB each, in $corpus; their names in ${domains[@]}.
make_test_corpus() {
  corpus=$tmp/corpus
  if [[ -n "${SOUPLAB_SHARED_CORPUS:-}" && -d "${SOUPLAB_SHARED_CORPUS:-}/code_c" ]]; then
    for d in code_c licenses_spdx fiction_austen; do
      mkdir -p "$corpus/$d"
      head -c 81920 "$SOUPLAB_SHARED_CORPUS/$d/data.txt" >"$corpus/$d/data.txt"
    done
    domains=(code_c licenses_spdx fiction_austen)
  else
    mkdir -p "$corpus/code" "$corpus/docs" "$corpus/licenses"
    i=0
    for f in "$src"/engine/*/*.cpp; do cp "$f" "$corpus/code/$((i++))-$(basename "$f")"; done
    for f in "$src"/engine/*/*.h "$src"/app/*/*.h "$src"/README.md; do
      [[ -f $f ]] && cp "$f" "$corpus/docs/$((i++))-$(basename "$f")"
    done
    cp "$src/LICENSE" "$corpus/licenses/LICENSE"
    # Debian's licence texts (base-files) make the licence domain big enough.
    for f in Apache-2.0 Artistic BSD GPL-2 LGPL-2.1 MPL-2.0; do
      [[ -f /usr/share/common-licenses/$f ]] && cp -L "/usr/share/common-licenses/$f" "$corpus/licenses/$f"
    done
    domains=(code docs licenses)
  fi
  for d in "${domains[@]}"; do
    size=$(cat "$corpus/$d"/* | wc -c)
    ((size > 40000)) || fail "corpus domain $d has only $size bytes (want > 40 KB)"
  done
}
