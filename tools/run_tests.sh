#!/usr/bin/env bash
# Set up the environment (tools/setup_env.sh) and run the style checks and the test suite.
#   bash tools/run_tests.sh [pytest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# the optional extras are installed so that they are tested too: label generation
# (mediapipe), deployment (onnx, onnxruntime) and the browser demo (gradio)
EXTRAS=${EXTRAS:-labels,deploy,demo} bash tools/setup_env.sh
venv=${MMREIDPARTS_VENV:-$root/.venv}
echo "[tests] ruff (style and import order)"
"$venv/bin/ruff" check mmreidparts tools tests configs projects
echo "[tests] pytest"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "$venv/bin/python" -m pytest tests -q -p no:cacheprovider "$@"
