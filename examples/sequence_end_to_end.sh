#!/usr/bin/env bash
# From a file of user histories to a results table: HSTU and SASRec trained on
# 2 ranks, leave-one-out, the held-out item ranked against all items.
#
#   ./examples/sequence_end_to_end.sh [history file] [format] [steps]
#
# Default: the Amazon Beauty file in ../shared/data (ITEM_LINES) for 10,500 steps
# (60 epochs, the configs' setting; a few minutes per model on 2 cores). For
# MovieLens pass e.g. data/ml-1m/ratings.dat MOVIELENS_DAT (download it first with
# scripts/data/download_movielens.sh ml-1m) — or use configs/hstu_ml1m.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-../shared/data/amazon-seq/Beauty.txt}
FORMAT=${2:-ITEM_LINES}
STEPS=${3:-10500}
OUT=${OUT:-runs/example_sequences}
[ -f "$FILE" ] || { echo "no history file at $FILE (pass one as the first argument)"; exit 1; }
[ -x build/launcher/shardrec-train ] || ./scripts/build.sh --target shardrec-train
MPI=(mpirun -np 2 --bind-to none --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
FILE_ABS=$(cd "$(dirname "$FILE")" && pwd)/$(basename "$FILE")

for model in hstu sasrec; do
  echo "== training $model on $FILE"
  "${MPI[@]}" build/launcher/shardrec-train --config configs/${model}_beauty.yaml --set \
    data.train_path="$FILE_ABS" data.data_root= data.sequence.format="$FORMAT" train.steps="$STEPS" \
    train.eval_every=$((STEPS / 12)) train.log_every=$((STEPS / 12)) train.output_dir="$OUT/$model" \
    >"$OUT-$model.log" 2>&1 || { tail -20 "$OUT-$model.log"; exit 1; }
done

# The test metrics of each model's best validation checkpoint, from its metrics log.
value() { grep '"event": "final"' "$OUT/$1/metrics.jsonl" | grep -o "\"$2\": [-0-9.e]*" | awk '{print $2}'; }
echo
echo "Test split, best checkpoint by validation NDCG@10 ($FILE):"
printf '| %-7s | %-19s | %7s | %8s | %7s | %8s | %7s |\n' model protocol HR@10 NDCG@10 HR@50 NDCG@50 MRR
printf '|---------|---------------------|---------|----------|---------|----------|---------|\n'
for model in hstu sasrec; do
  for p in all seen0; do
    name=$([ $p = all ] && echo "all items" || echo "seen items scored 0")
    printf '| %-7s | %-19s | %7.4f | %8.4f | %7.4f | %8.4f | %7.4f |\n' "$model" "$name" \
      "$(value $model test_${p}_hr@10)" "$(value $model test_${p}_ndcg@10)" "$(value $model test_${p}_hr@50)" \
      "$(value $model test_${p}_ndcg@50)" "$(value $model test_${p}_mrr)"
  done
done
