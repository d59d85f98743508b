#!/usr/bin/env bash
# The three GPU measurements of issue 16 in one run that fits a 10-minute device call: the loss filter with the
# real NLLB-600M architecture (random weights), training memory and tokens/s of Qwen3-1.7B layer-selective vs
# full vs LoRA, batched vs sequential generation with Qwen3-1.7B. Prepare first with bench/gpu_prepare.sh,
# then: run(command="bash bench/gpu_run.sh", carry=[".gpu"], timeout_s=600). Tables land in bench/results/*_cuda.md
# and, on the device machine, are copied to $OUT so they come back.
# GPU_DEVICE=cpu GPU_ARCH=tiny bash bench/gpu_run.sh  checks the plumbing on a machine without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${GPU_DEVICE:-cuda}
LOSS_ARCH=${GPU_ARCH:-nllb-600m}
LM_ARCH=${GPU_ARCH:-qwen3-1.7b}
OUT=${OUT:-/tmp/xplus-gpu-out}
mkdir -p "$OUT"
if compgen -G ".gpu/whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .gpu/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! python3 -c "import xplus.curate" 2>/dev/null; then  # not installed here: the folders as the xplus namespace
  mkdir -p /tmp/xplus-ns/xplus
  for pkg in curate train evaluate pipelines; do ln -sfn "$PWD/$pkg" /tmp/xplus-ns/xplus/$pkg; done
  export PYTHONPATH=/tmp/xplus-ns:$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
[ -d .gpu/data ] && export XPLUS_SHARED_DATA=$PWD/.gpu/data
export PYTHONUNBUFFERED=1
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true) | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"

status=0
measure() {  # measure SECONDS NAME COMMAND...: one benchmark under its own time limit, log kept in $OUT
  local limit=$1 name=$2; shift 2
  echo "== $name (limit ${limit}s): $*"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start)) s"
  [ "$rc" = 0 ] || status=1
}
measure 150 loss_speed python3 bench/loss_speed.py --device "$DEVICE" --arch "$LOSS_ARCH" --pairs 20000 \
  --naive-pairs 500 --max-tokens 16384 65536 --threads 8
measure 240 train_memory python3 bench/train_memory.py --device "$DEVICE" --arch "$LM_ARCH" --steps 5
measure 150 generation_speed python3 bench/generation_speed.py --device "$DEVICE" --arch "$LM_ARCH" \
  --sentences 256 --sequential-sentences 16 --batch-sizes 32 64 128 --max-new-tokens 64 \
  --output "bench/results/generation_speed_$DEVICE.md"
cp bench/results/*_"$DEVICE".md bench/results/*_cuda.md bench/results/*_cuda.png "$OUT"/ 2>/dev/null || true
exit $status
