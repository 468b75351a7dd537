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

# must_exit CODE PATTERN ARGS...: exit status CODE (2 usage error, 1 runtime error) and an error
# on stderr matching PATTERN (grep -E).
must_exit() {
  local code=$1 pattern=$2
  shift 2
  run "$@"
  ((rc == code)) || fail "souplab-cli $* exited $rc, expected $code"
  grep -Eq -- "$pattern" "$tmp/err" || fail "souplab-cli $*: stderr does not match /$pattern/"
  ok "souplab-cli $* exits $rc: $(head -1 "$tmp/err")"
}
# json_check PYTHON_EXPRESSION [ARGS...]: $tmp/out parses as JSON (json.load) and the expression,
# evaluated with the document as d and the arguments as a, is true.
json_check() {
  local expr=$1
  shift
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
a = sys.argv[3:]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$expr" "$@" || fail "JSON check failed: $expr ($*) on $(head -c 300 "$tmp/out")"
}
# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds (the event a test needs,
# never a fixed sleep); fails after SECONDS.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${limit} s waiting for $what"
    sleep 0.2
  done
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
