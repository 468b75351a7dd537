#!/bin/sh
# Fails if any file under engine/ includes a Qt header: the engine must build without Qt.
dir=${1:?usage: check_engine_has_no_qt.sh ENGINE_DIR}
hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/[^>"]*|q[a-z_]+\.h)[>"]' "$dir" || true)
if [ -n "$hits" ]; then
  echo "engine/ must not include Qt headers:"
  echo "$hits"
  exit 1
fi
echo "engine/ includes no Qt header ($(find "$dir" -type f -name '*.[ch]*' | wc -l) files checked)"
