#!/usr/bin/env bash
# GPU check of the torch backend: the torch tests, then the selection
# benchmark with batchbald on CUDA beside numpy on the CPU.
#
#   bash benchmarks/gpu_check.sh [--full] [results-dir]
#
# Needs PyTorch with CUDA and a visible device; exits 2 with a message (and
# runs nothing) when there is none. By default the benchmark runs the quick
# configurations without peers (a few minutes); --full runs every
# configuration and pool kind (issue 10's hard pools included).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
full=0
if [[ "${1:-}" == "--full" ]]; then
    full=1
    shift
fi
out="${1:-$here/results}"
python="${PYTHON:-python}"
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"

if ! "$python" - <<'PY'
import sys
try:
    import torch
except ImportError:
    sys.exit("gpu_check: PyTorch is not installed (pip install 'batchbald[torch]').")
if not torch.cuda.is_available():
    sys.exit(
        "gpu_check: no CUDA device (torch.cuda.is_available() is False; torch "
        f"{torch.__version__}, CUDA build {torch.version.cuda}); nothing run."
    )
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}")
PY
then
    exit 2
fi

mkdir -p "$out"
stamp="$(date -u +%Y-%m-%d)"

echo "== torch tests (CPU and CUDA)"
"$python" -m pytest -q -x "$root/tests/test_scoring.py" "$root/tests/test_engine.py" \
    -k "torch or cuda or device"

echo "== CUDA beside numpy"
if [[ $full == 1 ]]; then
    configs=(--configs small,mnist,b50,million,b500 --kinds mixed,disagree,forest)
else
    configs=(--quick --configs small,million,b500 --kinds mixed,disagree)
fi
"$python" "$here/bench_selection.py" "${configs[@]}" --no-peers --torch \
    --device cuda --json "$out/gpu_check_$stamp.json" | tee "$out/gpu_check_$stamp.md"
