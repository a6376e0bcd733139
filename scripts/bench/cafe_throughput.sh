#!/usr/bin/env bash
# Training throughput of the table storages on the same model and data:
# configs/dlrm_synthetic.yaml (26 Criteo-shaped tables, 10 .. 10M ids), every
# table under one storage at one compression ratio, mpirun -np NP, STEPS steps.
#   scripts/bench/cafe_throughput.sh [cr=10] [steps=300] [np=2]
# Prints samples/s and the embedding share of step time per storage, and each
# storage's samples/s relative to `hash` (the paper: CAFE 4589 vs hash 8015
# samples/s on their GPU at 5x, i.e. 0.57).
set -euo pipefail
cd "$(dirname "$0")/../.."
CR=${1:-10}
STEPS=${2:-300}
NP=${3:-2}
MPI=(mpirun -np "$NP" --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
declare -A SPS EMB
# FULL first: the first run on a cold machine is slower (page cache, CPU clocks).
for storage in FULL HASH QR CAFE CAFE_MULTILEVEL; do
  cr=$CR
  [ "$storage" = FULL ] && cr=1
  line=$("${MPI[@]}" build/launcher/shardrec-train --config configs/dlrm_synthetic.yaml --set \
    "embedding.default_compression={storage: $storage, compression_ratio: $cr}" train.steps="$STEPS" \
    train.eval_every=0 train.checkpoint_every=0 train.eval_samples=2048 train.log_every="$STEPS" \
    train.output_dir="$OUT/$storage" 2>&1 | grep -A1 "done:")
  sps=$(echo "$line" | sed -n 's/.*| \([0-9]*\) samples\/s.*/\1/p')
  emb=$(echo "$line" | sed -n 's/.*embedding \([0-9.]*\)%.*/\1/p')
  SPS[$storage]=$sps
  EMB[$storage]=$emb
done
printf "| storage | CR | samples/s | embedding share | vs hash |\n|---|---|---|---|---|\n"
for storage in FULL HASH QR CAFE CAFE_MULTILEVEL; do
  cr=$CR
  [ "$storage" = FULL ] && cr=1
  ratio=$(awk -v a="${SPS[$storage]}" -v b="${SPS[HASH]}" 'BEGIN { printf "%.2f", a / b }')
  printf "| %s | %s | %s | %s%% | %s |\n" "$storage" "$cr" "${SPS[$storage]}" "${EMB[$storage]}" "$ratio"
done
