#!/usr/bin/env bash
# Install the reference peers that benchmarks/bench_selection.py compares with.
# Benchmarks only: batchbald itself never imports them (scikit-activeml is also
# the test oracle, in the dev extra). baal and batchbald-redux are installed
# without their dependencies, which would otherwise pull jupyter, torchvision
# and CUDA wheels; the few they need at import time are listed explicitly.
# Install torch first (CPU build, see DEVELOPERS.md): pip install torch==2.13.0
set -euo pipefail
PYTHON="${PYTHON:-python}"
"$PYTHON" -m pip install scikit-activeml
"$PYTHON" -m pip install --no-deps batchbald-redux baal
"$PYTHON" -m pip install toma tqdm "structlog<23" torchmetrics
"$PYTHON" - <<'PY'
import baal.active.heuristics  # noqa: F401
import batchbald_redux.batchbald  # noqa: F401
import skactiveml.pool._bald  # noqa: F401
print("peers importable: scikit-activeml, batchbald_redux, baal")
PY
