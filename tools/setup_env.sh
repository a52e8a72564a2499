#!/usr/bin/env bash
# Create (or update) the project's virtual environment with the pinned OpenMMLab stack.
#   bash tools/setup_env.sh            # runtime + tests
#   EXTRAS=labels bash tools/setup_env.sh   # also the label-generation extra (mediapipe)
#   EXTRAS=labels,deploy,demo bash tools/setup_env.sh   # + onnx/onnxruntime and gradio
# The environment lives in $MMREIDPARTS_VENV (default: .venv in the repository root).
# mmcv is compiled from source with CPU ops once per torch version and cached as a wheel
# in $MMREIDPARTS_CACHE (default ~/.cache/mmreidparts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MMREIDPARTS_VENV:-$root/.venv}
cache=${MMREIDPARTS_CACHE:-$HOME/.cache/mmreidparts}
py=${PYTHON:-python3}
cons=$root/requirements/constraints.txt
torch_ver=$(sed -n 's/^torch==//p' "$cons")
mmcv_ver=$(sed -n 's/^mmcv==//p' "$cons")
digest=$( (cat "$root"/requirements/*.txt "$root/setup.py" "$root/setup.cfg" 2>/dev/null || true) | sha1sum | cut -c1-12)
EXTRAS=${EXTRAS:-}
extras_tag=$(echo "${EXTRAS:-none}" | tr ' ,' '__')
stamp=$venv/.mmreidparts-setup-$digest-$extras_tag

if [ -f "$stamp" ]; then
  echo "[setup] environment $venv is up to date"
  exit 0
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
echo "[setup] base packages (torch $torch_ver) into $venv"
"${pip[@]}" install -q -c "$cons" "setuptools<82" wheel ninja psutil numpy torch torchvision

wheel_dir=$cache/wheels/torch-$torch_ver
whl=$(ls "$wheel_dir"/mmcv-"$mmcv_ver"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$whl" ]; then
  echo "[setup] building mmcv $mmcv_ver with CPU ops against torch $torch_ver (about 10 minutes on 2 cores)"
  mkdir -p "$wheel_dir"
  tmp=$(mktemp -d)
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} "${pip[@]}" wheel -q --no-build-isolation \
    --no-deps --no-cache-dir -w "$tmp" "mmcv==$mmcv_ver"
  mv "$tmp"/mmcv-*.whl "$wheel_dir"/
  rm -rf "$tmp"
  whl=$(ls "$wheel_dir"/mmcv-"$mmcv_ver"-*.whl | head -n1)
fi
echo "[setup] mmcv from $whl"
"${pip[@]}" install -q -c "$cons" "$whl"
reqs=(-r "$root/requirements/runtime.txt" -r "$root/requirements/mminstall.txt" -r "$root/requirements/tests.txt")
for extra in ${EXTRAS//,/ }; do
  case "$extra" in
    labels) reqs+=(-r "$root/requirements/optional.txt") ;;
    deploy) reqs+=(-r "$root/requirements/deploy.txt") ;;
    demo) reqs+=(-r "$root/requirements/demo.txt") ;;
    *) echo "[setup] unknown extra '$extra' in EXTRAS (expected labels, deploy, demo)" >&2; exit 2 ;;
  esac
done
"${pip[@]}" install -q -c "$cons" "${reqs[@]}"
if [ -f "$root/setup.py" ]; then
  "${pip[@]}" install -q -c "$cons" --no-build-isolation --no-deps -e "$root"
fi
"$venv/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmengine, mmpretrain.models, mmseg.models, torch, numpy, cv2
print(f"[setup] torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, "
      f"numpy {numpy.__version__}, opencv {cv2.__version__}")
PY
rm -f "$venv"/.mmreidparts-setup-*
touch "$stamp"
