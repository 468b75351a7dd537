#!/usr/bin/env bash
# Creates (once) the project's Python virtual environment from PyPI and prints its folder:
# torch 2.11 (its libtorch is the second, CUDA-enabled build), onnxruntime, transformers, gguf and
# llama-cpp-python (llama.cpp, built from its source here) for the export tests
# (scripts/py-requirements.txt has the pins and why).
#   scripts/install-py-tools.sh [VENV]     default: $SOUPLAB_PY_VENV or ~/.cache/souplab/py-torch2.11
# Idempotent: a stamp holding the requirements file's checksum skips pip when nothing changed.
# First run: ~2.9 GB of wheels downloaded (~1 minute here), ~4.7 GB installed.
# Progress goes to stderr; stdout is the venv's folder alone, for scripts to capture.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-${SOUPLAB_PY_VENV:-$HOME/.cache/souplab/py-torch2.11}}
req="$here/py-requirements.txt"
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$venv/.souplab-requirements"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "install-py-tools: $venv is up to date" >&2
  echo "$venv"
  exit 0
fi
# The venv module: Debian's python3 needs python3-venv (scripts/install-deps.sh installs it).
python=${SOUPLAB_PYTHON:-python3}
if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$(dirname "$venv")"
  if ! "$python" -m venv "$venv" >&2; then
    echo "install-py-tools: '$python -m venv $venv' failed (Debian: apt-get install python3-venv)" >&2
    rm -rf "$venv"
    exit 1
  fi
fi
start=$(date +%s)
echo "install-py-tools: installing $(grep -c '^[a-z]' "$req") pinned packages into $venv (first time ~2.9 GB)" >&2
# llama-cpp-python has no wheel on PyPI: pip builds llama.cpp with CMake on every core, without
# the multimodal library the tests do not use.
CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  "$venv/bin/python" -m pip install --progress-bar off --disable-pip-version-check -q -r "$req" >&2
"$venv/bin/python" - >&2 <<'PY'
import gguf, llama_cpp, onnxruntime, torch, transformers
print(f"install-py-tools: torch {torch.__version__} (CUDA {torch.version.cuda}), "
      f"onnxruntime {onnxruntime.__version__}, transformers {transformers.__version__}, "
      f"llama-cpp-python {llama_cpp.__version__}")
PY
echo "$want" > "$stamp"
echo "install-py-tools: done in $(( $(date +%s) - start )) s, $(du -sh "$venv" | cut -f1) on disk" >&2
echo "$venv"
