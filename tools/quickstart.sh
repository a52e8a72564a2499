#!/usr/bin/env bash
# The main job on the embedded default dataset, from a fresh clone:
#   set up the environment, generate the synthetic pedestrians (data/synthetic), train the
#   BoT baseline on CPU, test the checkpoint (metric table), compare with the chance level,
#   and save a picture of ranked results (work_dirs/quickstart/ranked_results.png).
#   bash tools/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh
py=${MMREIDPARTS_VENV:-$root/.venv}/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
cfg=${CONFIG:-configs/baseline/bot_mobilenetv2_1xb64_synthetic.py}
work=${WORK_DIR:-work_dirs/quickstart}
data=${DATA_ROOT:-data/synthetic}
opts=(train_dataloader.dataset.data_root="$data" val_dataloader.dataset.data_root="$data"
      test_dataloader.dataset.data_root="$data")
start=$(date +%s)
mkdir -p "$work"

echo "[quickstart] 1/5 synthetic dataset -> $data"
"$py" tools/dataset_converters/generate_synthetic.py "$data" > /dev/null
echo "[quickstart] 2/5 training $cfg (logs in $work)"
"$py" tools/train.py "$cfg" --work-dir "$work" --cfg-options "${opts[@]}" > "$work.train.log" 2>&1 \
  || { tail -n 40 "$work.train.log"; echo "[quickstart] training failed, log: $work.train.log"; exit 1; }
ckpt=$(cat "$work/last_checkpoint")
echo "[quickstart] 3/5 testing $ckpt"
"$py" tools/test.py "$cfg" "$ckpt" --work-dir "$work/test" --out "$work/test_metrics.json" \
  --cfg-options "${opts[@]}" 2>&1 | grep -E '^\||^\+|ReID evaluation' || true
echo "[quickstart] 4/5 chance level (random ranking of the same test set)"
"$py" tools/analysis_tools/chance_level.py "$cfg" --out "$work/chance.json" --cfg-options "${opts[@]}"
echo "[quickstart] 5/5 ranked results"
"$py" tools/analysis_tools/visualize_ranked_results.py "$cfg" "$ckpt" \
  --out "$work/ranked_results.png" --cfg-options "${opts[@]}"
"$py" - "$work" "$start" <<'PY'
import json, sys, time
work, start = sys.argv[1], float(sys.argv[2])
m = json.load(open(f'{work}/test_metrics.json'))
c = json.load(open(f'{work}/chance.json'))
print(f"[quickstart] done in {time.time() - start:.0f} s: rank-1 {m['reid/rank1']:.1f}, "
      f"mAP {m['reid/mAP']:.1f} (chance: rank-1 {c['rank1']:.2f}, mAP {c['mAP']:.2f}); "
      f"picture: {work}/ranked_results.png")
PY
