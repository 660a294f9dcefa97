#!/usr/bin/env bash
# One-shot GPU check (issue 13): scripts/gpu_check.py does the work; this wrapper only installs
# carried wheels first. On a CUDA machine with PyTorch and onnxruntime-gpu (no TensorRT, no ROS):
#   scripts/gpu_check.sh [--wheels DIR] [gpu_check.py options]   -> docs/benchmarks/gpu.md, gpu.json
#   scripts/gpu_check.sh --cpu --out /tmp/gpu_check               (toy sizes on CPU; the test)
# --wheels DIR: pip install --no-index --no-deps DIR/*.whl into $GPU_CHECK_SITE (default
# /tmp/gpu_check_site) and put it first on PYTHONPATH, for machines that cannot reach PyPI.
# PYTHON picks the interpreter (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
args=()
while (($#)); do
  case "$1" in
    --wheels)
      [[ $# -ge 2 && -d "$2" ]] || { echo "error: --wheels needs a folder of .whl files" >&2; exit 2; }
      wheels=("$2"/*.whl)
      [[ -e "${wheels[0]}" ]] || { echo "error: --wheels $2 holds no .whl files" >&2; exit 2; }
      site="${GPU_CHECK_SITE:-/tmp/gpu_check_site}"
      echo "installing ${#wheels[@]} wheel(s) from $2 into $site"
      "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" "${wheels[@]}"
      export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
      shift 2;;
    *) args+=("$1"); shift;;
  esac
done
export PYTHONUNBUFFERED=1
exec "$py" "$here/gpu_check.py" "${args[@]}"
