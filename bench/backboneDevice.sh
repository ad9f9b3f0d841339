#!/usr/bin/env bash
# The CV and Audio fine-tune jobs on a GPU machine and on its CPU, side by side (issue 18's CUDA check):
# the platform's own package (docker/images/backbone) run exactly as a job runs it, on the reference
# uploads, with the built-in datasets generated in place. Prints one line per job with its device,
# seconds per epoch and the job's wall time. Usage: bash bench/backboneDevice.sh [OUTDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/backbone-device}
PY=${PYTHON:-python3}
export PYTHONPATH=$ROOT/docker/images/backbone
mkdir -p "$OUT/data"
$PY -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")'
for ds in cv-shapes cv-shapes-seg; do
  [ -f "$OUT/data/$ds/dataset.json" ] || $PY -m proctor_backbone.cvdata "$OUT/data/$ds" "$ds" >/dev/null
done
run() { # domain task adaptation dataset device upload
  local dir="$OUT/jobs/$2-$3-$5"
  rm -rf "$dir"; mkdir -p "$dir"
  printf '{"domain":"%s","task":"%s","adaptation":"%s","mode":"formal","epochs":10,"subset":null,"seed":7,"device":"%s","threads":%s,"trainBatchSize":null,"valBatchSize":null,"learningRate":null,"inputSize":null,"testIndices":null,"robustness":false}\n' \
    "$1" "$2" "$3" "$5" "${THREADS:-4}" > "$dir/job.json"
  local t0=$(date +%s.%N)
  (cd "$dir" && PROCTOR_UPLOAD_DIR="$6" PROCTOR_DATA_DIR="$OUT/data/$4" $PY -m proctor_backbone.$1 "$dir/job.json" > "$dir/stdout" 2>&1) || { echo "FAILED $2 $5"; tail -5 "$dir/stdout"; cat "$dir/error.json" 2>/dev/null || true; return 0; }
  local t1=$(date +%s.%N)
  $PY - "$dir" "$t0" "$t1" <<'PYEOF'
import json, sys
d, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
m = json.load(open(d + "/metrics.json"))
print("%-14s %-8s device=%-4s epochs=%d epochSeconds=%.3f jobSeconds=%.1f metrics=%s" % (m["task"], m["adaptation"], m["device"], m["epochs"], m["epochSeconds"], t1 - t0, m["metrics"]))
PYEOF
}
for dev in cuda cpu; do
  run cv classification linear cv-shapes $dev "$ROOT/test/fixtures/backbones/cv/reference"
  run cv segmentation upernet cv-shapes-seg $dev "$ROOT/test/fixtures/backbones/cv/reference"
done
