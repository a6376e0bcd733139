#!/usr/bin/env bash
# HSTU retrieval training (configs/hstu_beauty.yaml, Amazon Beauty) on the CPU:
# shardrec vs the same model in PyTorch (scripts/bench/pytorch_hstu.py), same
# data, same shapes (batch 128 users, max_len 50, dim 64, 2 blocks, 128 sampled
# negatives; pinned with --set whatever the config file says, and checked in the
# run's config.yaml), same number of timed steps, same total thread count, one
# after the other in this script.
#
#   scripts/bench/hstu_vs_pytorch.sh [steps=300] [pytorch_warmup=10]
#
# Builds nothing: needs build/launcher/shardrec-train (./scripts/build.sh),
# mpirun (Open MPI) for the 2-rank run, and `pip install torch numpy`.
#
# Runs
#   shardrec, 1 process x 2 threads
#   shardrec, mpirun -np 2 x 1 thread (peak RSS summed over the ranks)
#   PyTorch,  1 process x 2 threads, --layout padded (every op on [B, L, D], the
#             baseline asked for) and --layout jagged (token-wise ops on the real
#             tokens only, padding just inside the attention)
# Throughput: shardrec's "final" event in <output_dir>/metrics.jsonl (training
# steps only: the end-of-run validation/test ranking is not in it); it times every
# step including the first. PyTorch times `steps` steps after `pytorch_warmup`
# untimed ones. Peak RSS: /usr/bin/time -v (Maximum resident set size) around each
# shardrec process, which includes the end-of-run evaluation; ru_maxrss of the
# PyTorch process itself.
# Run it on an otherwise idle machine: with other jobs on the cores, OpenMP
# threads that wait at barriers for a descheduled sibling make multi-threaded
# runs of either framework many times slower (the load is printed before/after).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${1:-300}
WARMUP=${2:-10}
THREADS=2
CFG=configs/hstu_beauty.yaml
BIN=build/launcher/shardrec-train
DATA=../shared/data/amazon-seq/Beauty.txt
PYTHON=${PYTHON:-python3}

for _ in 1 2 3 4 5 6; do [ -x "$BIN" ] && break; echo "waiting for $BIN ..."; sleep 10; done
[ -x "$BIN" ] || { echo "error: $BIN not found; build it with ./scripts/build.sh" >&2; exit 1; }
[ -f "$DATA" ] || { echo "error: $DATA not found" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# run_peak OUTFILE CMD...: runs CMD, writes its peak RSS in KB to OUTFILE.
# /usr/bin/time -v when present; otherwise the child's ru_maxrss from wait4().
run_peak() {
  local out=$1
  shift
  if [ -x /usr/bin/time ]; then
    local tv="$(dirname "$out")/time-v.$(basename "$out")"
    /usr/bin/time -v -o "$tv" "$@"
    sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tv" >"$out"
  else
    "$PYTHON" -c '
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
open(sys.argv[1], "w").write("%d\n" % ru.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))' "$out" "$@"
  fi
}
export -f run_peak
export PYTHON

# The "final" event's field of a metrics.jsonl.
final_field() {
  "$PYTHON" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fin = [e for e in ev if e.get("event") == "final"]
print(fin[-1][sys.argv[2]] if fin else "nan")' "$1" "$2"
}
# The mean loss of the last "train" event.
train_loss() {
  "$PYTHON" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tr = [e for e in ev if e.get("event") == "train"]
print(tr[-1]["loss"] if tr else "nan")' "$1"
}

# The shapes and hyper-parameters, pinned for both frameworks (the config file may
# change under us: these are the values of configs/hstu_beauty.yaml this
# benchmark was written for).
MAX_LEN=50 DIM=64 BLOCKS=2 BATCH=128 NEG=128 TEMP=0.05 DROPOUT=0.5 LR=0.001
SETS=(--set train.steps="$STEPS" --set train.eval_every=0 --set train.log_every="$STEPS"
      --set train.checkpoint_every=0 --set train.global_batch_size=$BATCH
      --set data.sequence.max_len=$MAX_LEN --set embedding.default_dim=$DIM --set model.type=hstu
      --set model.sequence.num_blocks=$BLOCKS --set model.sequence.num_heads=1 --set model.sequence.head_dim=$DIM
      --set model.sequence.dropout=$DROPOUT --set model.sequence.loss=SAMPLED_SOFTMAX
      --set model.sequence.num_negatives=$NEG --set model.sequence.in_batch_negatives=false
      --set model.sequence.temperature=$TEMP --set model.sequence.relative_bias=true
      --set model.sequence.recompute=NONE --set precision.compute=FP32
      --set optimizer.type=ADAMW --set optimizer.lr=$LR --set optimizer.weight_decay=0
      --set optimizer.warmup_steps=0 --set optimizer.decay=CONSTANT
      --set embedding.optimizer.type=SPARSE_ADAM --set embedding.optimizer.lr=$LR)

# Fails unless the run's effective config (OUTPUT_DIR/config.yaml) has these values.
check_config() {
  "$PYTHON" - "$1/config.yaml" <<EOF
import sys
want = {"max_len": "$MAX_LEN", "default_dim": "$DIM", "num_blocks": "$BLOCKS", "head_dim": "$DIM",
        "global_batch_size": "$BATCH", "num_negatives": "$NEG", "temperature": "$TEMP", "dropout": "$DROPOUT"}
got = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition(":")
    if k in want and k not in got:
        got[k] = v.strip().strip('"')
bad = {k: got.get(k) for k in want if got.get(k) is None or float(got[k]) != float(want[k])}
if bad:
    sys.exit("shardrec's effective config differs from the PyTorch run: %s (wanted %s)" % (bad, want))
EOF
}

echo "== command: $0 $STEPS $WARMUP"
echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
echo "== load before: $(uptime | sed 's/.*load average/load average/')"
echo "== $STEPS timed training steps of $BATCH users (max_len $MAX_LEN, dim $DIM, $BLOCKS HSTU blocks, $NEG negatives)"

echo "== shardrec: 1 process x $THREADS threads"
CMD1=("$BIN" -c "$CFG" "${SETS[@]}" --set train.threads=$THREADS --set train.output_dir="$WORK/sr1")
echo "   ${CMD1[*]}"
run_peak "$WORK/rss1" "${CMD1[@]}" >"$WORK/sr1.log" 2>&1 || { tail -20 "$WORK/sr1.log"; exit 1; }
check_config "$WORK/sr1"
SR1_SPS=$(final_field "$WORK/sr1/metrics.jsonl" sequences_per_sec)
SR1_TPS=$(final_field "$WORK/sr1/metrics.jsonl" tokens_per_sec)
SR1_LOSS=$(train_loss "$WORK/sr1/metrics.jsonl")
SR1_RSS=$(cat "$WORK/rss1")

MPI_ROOT=()
[ "$(id -u)" = 0 ] && MPI_ROOT=(--allow-run-as-root)
echo "== shardrec: mpirun -np 2 x 1 thread"
CMD2=(mpirun -np 2 --bind-to none "${MPI_ROOT[@]}" bash -c
      'run_peak "$0.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-$$}}" "$@"' "$WORK/rss2"
      "$BIN" -c "$CFG" "${SETS[@]}" --set train.threads=1 --set train.output_dir="$WORK/sr2")
echo "   mpirun -np 2 --bind-to none ${MPI_ROOT[*]} <peak-RSS wrapper> $BIN -c $CFG ${SETS[*]} --set train.threads=1 ..."
"${CMD2[@]}" >"$WORK/sr2.log" 2>&1 || { tail -20 "$WORK/sr2.log"; exit 1; }
check_config "$WORK/sr2"
SR2_SPS=$(final_field "$WORK/sr2/metrics.jsonl" sequences_per_sec)
SR2_TPS=$(final_field "$WORK/sr2/metrics.jsonl" tokens_per_sec)
SR2_LOSS=$(train_loss "$WORK/sr2/metrics.jsonl")
SR2_RSS=$(cat "$WORK"/rss2.* | awk '{s += $1} END {print s}')
SR2_RANKS=$(ls "$WORK"/rss2.* | wc -l)

for LAYOUT in padded jagged; do
  echo "== PyTorch ($LAYOUT): 1 process x $THREADS threads (+$WARMUP untimed warm-up steps)"
  CMD3=("$PYTHON" scripts/bench/pytorch_hstu.py --data "$DATA" --threads $THREADS --steps "$STEPS" --warmup "$WARMUP"
        --max-len $MAX_LEN --dim $DIM --blocks $BLOCKS --batch $BATCH --negatives $NEG --temperature $TEMP
        --dropout $DROPOUT --lr $LR --layout $LAYOUT)
  echo "   OMP_NUM_THREADS=$THREADS ${CMD3[*]}"
  OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS "${CMD3[@]}" >"$WORK/pt_$LAYOUT.json" 2>"$WORK/pt_$LAYOUT.log" || {
    tail -20 "$WORK/pt_$LAYOUT.log"; exit 1; }
  cat "$WORK/pt_$LAYOUT.json"
done
echo "== load after: $(uptime | sed 's/.*load average/load average/')"

"$PYTHON" - "$WORK/pt_padded.json" "$WORK/pt_jagged.json" <<EOF
import json, sys
pts = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:]]
rows = [
    ("shardrec 1 x $THREADS thr", $SR1_SPS, $SR1_TPS, $SR1_RSS / 1024.0, $SR1_LOSS),
    ("shardrec $SR2_RANKS ranks x 1 thr", $SR2_SPS, $SR2_TPS, $SR2_RSS / 1024.0, $SR2_LOSS),
] + [("pytorch %s 1 x $THREADS thr" % pt["layout"], pt["sequences_per_sec"], pt["tokens_per_sec"], pt["peak_rss_mb"],
      pt["mean_loss"]) for pt in pts]
print()
print("%-28s %10s %10s %12s %10s" % ("run ($STEPS timed steps)", "seq/s", "tokens/s", "peak RSS MB", "mean loss"))
for name, sps, tps, rss, loss in rows:
    print("%-28s %10.1f %10.1f %12.1f %10.4f" % (name, sps, tps, rss, loss))
print()
for name, sps, tps, rss, _ in rows[:2]:
    for pt in pts:
        print("%-28s vs pytorch %-6s: throughput x%.2f, peak RSS x%.2f" % (
            name, pt["layout"], sps / pt["sequences_per_sec"], rss / pt["peak_rss_mb"]))
print()
for pt in pts:
    print("pytorch %s: %.0f MB of its peak RSS is there right after 'import torch' (torch %s)" % (
        pt["layout"], pt["rss_after_import_mb"], pt["torch"]))
print("shardrec peak RSS includes its end-of-run validation/test ranking; the 2-rank figure is the sum over ranks.")
print("mean loss: over all timed steps; the runs differ in user order, dropout masks and negatives.")
EOF
