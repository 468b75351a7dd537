# Sourced by the build scripts: takes `--torch debian|pypi` out of the arguments and sets
#   torch_kind   debian (Debian's libtorch 1.13, CPU; the default) or pypi (the libtorch inside
#                the PyPI torch 2.11 wheel, CUDA-enabled; our .cu kernels compiled by nvcc)
#   build        the build folder: build/ or build-torch2/ ($SOUPLAB_BUILD_DIR overrides)
#   torch_cmake  extra cmake configure arguments for that libtorch
#   rest         the other arguments, in order
# For pypi it installs (once) the venv with the wheel: scripts/install-py-tools.sh.
torch_kind=debian
rest=()
while (($# > 0)); do
  case "$1" in
    --torch) torch_kind=${2:-}; shift 2 || { echo "--torch needs debian or pypi" >&2; exit 2; } ;;
    --torch=*) torch_kind=${1#--torch=}; shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
torch_cmake=()
case "$torch_kind" in
  debian) build=${SOUPLAB_BUILD_DIR:-build} ;;
  pypi)
    build=${SOUPLAB_BUILD_DIR:-build-torch2}
    venv=$(bash "$(dirname "${BASH_SOURCE[0]}")/install-py-tools.sh")
    prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
    # TorchConfig looks for libtorch.so and libc10.so with find_library, which prefers the
    # system folders: with Debian's libtorch-dev installed it would link those. Name the wheel's.
    lib=$(cd "$prefix/../../lib" && pwd)
    torch_cmake+=("-DCMAKE_PREFIX_PATH=$prefix" "-DTORCH_LIBRARY=$lib/libtorch.so" "-Dc10_LIBRARY=$lib/libc10.so")
    # The wheel's TorchConfig needs the CUDA toolkit at configure time; our kernels need nvcc.
    if ! command -v nvcc >/dev/null 2>&1; then
      if [[ -x /usr/local/cuda/bin/nvcc ]]; then
        torch_cmake+=("-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc")
      else
        echo "--torch pypi: nvcc not found (install the CUDA toolkit 13.x, or put nvcc on PATH)" >&2
        exit 1
      fi
    fi
    ;;
  *) echo "--torch: expected debian or pypi, got '$torch_kind'" >&2; exit 2 ;;
esac
