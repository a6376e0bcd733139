#!/usr/bin/env bash
# From raw Criteo Kaggle rows to a trained, checkpointed, resumed DLRM.
#
#   ./examples/criteo_end_to_end.sh [path/to/criteo.tsv]
#
# Default input: the 2,199-row sample in ../shared/data (too small to learn much,
# big enough to exercise every step). For the full Kaggle set pass train.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
TSV=${1:-../shared/data/criteo-sample/criteo_kaggle_sample.tsv}
OUT=${OUT:-runs/example_criteo}
[ -f "$TSV" ] || { echo "no Criteo file at $TSV (pass one as the first argument)"; exit 1; }
[ -x build/launcher/shardrec-train ] || ./scripts/build.sh --target shardrec-train shardrec-data
MPI=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
mkdir -p "$OUT"

echo "== 1. convert TSV -> binary (malformed lines skipped and counted)"
build/launcher/shardrec-data convert --input "$TSV" --output "$OUT/criteo.bin" --malformed skip

echo "== 2. train 40 of 60 steps on 2 ranks, then stop (as a preempted job would)"
# Table 0 is split by columns over both ranks, table 1 pinned to rank 1; the planner places the rest.
SETS=(data.source=BINARY data.data_root= data.train_path="$OUT/criteo.bin" train.output_dir="$OUT"
      train.steps=60 train.log_every=10 train.checkpoint_every=20
      "embedding.tables=[{name: c0, features: [0], sharding: COLUMN_WISE, column_shards: 2},
                         {name: c1, features: [1], rank: 1},
                         {name: rest, features: [2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]}]")
"${MPI[@]}" build/launcher/shardrec-train --config configs/dlrm_criteo_sample.yaml --set "${SETS[@]}" \
  train.stop_after_steps=40

echo "== 3. resume from the newest checkpoint and finish"
"${MPI[@]}" build/launcher/shardrec-train --config configs/dlrm_criteo_sample.yaml --set "${SETS[@]}" --resume

echo "== 4. what was recorded"
ls "$OUT/checkpoints"
tail -n 3 "$OUT/metrics.jsonl"
