#!/usr/bin/env bash
# DLRM training throughput on Criteo's Kaggle shape: shardrec vs PyTorch, same
# model, same samples, same thread count, one after the other in this script.
# Needs: a build (./scripts/build.sh) and `pip install torch numpy`.
#   scripts/bench/dlrm_vs_pytorch.sh [steps=100] [threads=2] [compute=FP32|BF16]
# TORCHREC_PYTHON=/path/to/python also runs the model with TorchRec's
# FusedEmbeddingBagCollection under that interpreter (one with torch, torchrec
# and fbgemm-gpu-cpu at matching versions), in the same script run.
# BF16: shardrec's precision.compute=BF16 against PyTorch under torch.autocast(bfloat16).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${1:-100}
THREADS=${2:-2}
COMPUTE=${3:-FP32}
BATCH=2048
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CFG=configs/dlrm_synthetic.yaml
SETS=(data.synthetic.num_train_samples=$((STEPS * BATCH)) embedding.optimizer.type=SPARSE_SGD
      embedding.optimizer.lr=0.05 optimizer.type=SGD optimizer.lr=0.05 train.global_batch_size=$BATCH
      precision.compute=$COMPUTE)
SYNTH_SETS=()
for s in "${SETS[@]}"; do SYNTH_SETS+=(--set "$s"); done
echo "== writing $((STEPS * BATCH)) synthetic samples"
build/launcher/shardrec-data synth --config $CFG "${SYNTH_SETS[@]}" --split train --output "$WORK/train.bin" >/dev/null
ROWS=$(build/launcher/shardrec-data inspect "$WORK/train.bin" | sed -n 's/^distinct_ids: //p' | tr ' ' ',')

echo "== shardrec ($THREADS threads, 1 process, $COMPUTE products)"
build/launcher/shardrec-train --config $CFG --set "${SETS[@]}" data.source=BINARY data.train_path="$WORK/train.bin" \
  data.eval_path="$WORK/train.bin" train.eval_samples=$BATCH train.steps=$STEPS train.threads=$THREADS \
  train.eval_every=0 train.checkpoint_every=0 train.log_every=$STEPS train.output_dir="$WORK/run" 2>&1 |
  grep -E "^\[shardrec\] done|step time"

echo "== PyTorch ($THREADS threads)"
BF16=()
[ "$COMPUTE" = BF16 ] && BF16=(--bf16)
python3 scripts/bench/pytorch_dlrm.py --data "$WORK/train.bin" --rows "$ROWS" --batch $BATCH --steps "$STEPS" \
  --threads "$THREADS" --lr 0.05 "${BF16[@]}"
if [ -n "${TORCHREC_PYTHON:-}" ]; then
  echo "== TorchRec FusedEmbeddingBagCollection ($THREADS threads)"
  "$TORCHREC_PYTHON" scripts/bench/pytorch_dlrm.py --data "$WORK/train.bin" --rows "$ROWS" --batch $BATCH \
    --steps "$STEPS" --threads "$THREADS" --lr 0.05 --embeddings torchrec "${BF16[@]}"
fi
