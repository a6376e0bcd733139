#!/usr/bin/env bash
# Embedding-bag forward + backward + sparse update: shardrec's collection
# (build/tests/bench/embedding_bench) against TorchRec's FusedEmbeddingBagCollection
# on the CPU, same workload and byte count, one after the other in this script.
#   scripts/bench/embedding_vs_torchrec.sh [rows=4000000] [dim=16] [batch=16384] [bag=4] [iters=30] [threads=2]
# TORCHREC_PYTHON: an interpreter with torch, torchrec and fbgemm-gpu-cpu at
# matching versions [python3].
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-4000000}
DIM=${2:-16}
BATCH=${3:-16384}
BAG=${4:-4}
ITERS=${5:-30}
THREADS=${6:-2}
PY=${TORCHREC_PYTHON:-python3}
echo "== shardrec embedding_bench ($THREADS threads)"
OMP_NUM_THREADS=$THREADS build/tests/bench/embedding_bench "$ROWS" "$DIM" "$BATCH" "$BAG" "$ITERS" |
  grep -E "copy:|best|bare loops|FP32 rows"
for opt in sgd rowwise_adagrad; do
  echo "== TorchRec ($opt, $THREADS threads)"
  "$PY" scripts/bench/torchrec_embedding.py --rows "$ROWS" --dim "$DIM" --batch "$BATCH" --bag "$BAG" \
    --iters "$ITERS" --threads "$THREADS" --optimizer "$opt" 2>&1 | grep '^torchrec'
done
