#!/usr/bin/env bash
# CAFE study (models.md §4): eval AUC vs compression ratio for the full table,
# hash, Q-R, CAFE and multi-level CAFE, all on the same synthetic data (with a
# planted click model, so the best achievable AUC is known) and with a drift
# phase halfway (the hot ids change; see data.synthetic.drift_after_samples).
#
#   scripts/bench/cafe_study.sh [samples=3000000] [np=2]
#
# Runs build/launcher/shardrec-train under `mpirun -np NP` once for FULL at CR 1
# and once for every storage in {HASH, QR, CAFE, CAFE_MULTILEVEL} x CR in
# {10, 100, 1000, 10000}: 17 runs. Each run trains on `samples` samples
# (samples / batch steps) and evaluates once at the end; the data drifts after
# samples / 2. Writes RESULTS_DIR/results.tsv with the columns
#   storage cr auc logloss samples_per_sec planted_optimum_auc embedding_mb effective_cr wall_s
# (embedding_mb: weights + sketches actually allocated, summed over ranks;
# effective_cr: the full tables' MB / embedding_mb, which differs from cr where
# CAFE keeps small tables full or Q-R needs more than the budget), one log and
# metrics.jsonl per run under RESULTS_DIR/runs, and prints a Markdown table.
# Plot it with scripts/bench/plot_cafe_study.py RESULTS_DIR/results.tsv OUT.png.
#
# Default scale (7m46s measured on this 2-core machine with np=2 while another
# job shared the cores; docs/cafe.md has the results): 3,000,000 training samples per run (1,464 steps of 2,048),
# 100,000 eval samples, 8 categorical features with cardinalities
# 10, 100, 1e3, 1e4, 1e5, 1e6, 5e6, 2.5e7 (the largest is above CAFE's
# 2000 x CR "stay full" bound even at 10000x), Zipf exponent 1.2, dim 16,
# DLRM with a reduced MLP (bottom 256-64-16, top 256-64-1) so the dense part
# does not dominate the time, every table placed whole on one rank
# (embedding.row_wise_min_rows huge). Everything else comes from
# configs/cafe_synthetic.yaml (sparse SGD lr 1.6, dense Adam 1e-3).
#
# Environment overrides (the full study of the issue: tens of millions of
# samples, Criteo's 26 cardinalities up to 10M, the paper's MLP):
#   CARDINALITIES  YAML list, or "default" for the data's Criteo-shaped 26
#                  features (10 .. 10,000,000)   [default: the 8 above]
#   BOTTOM_MLP / TOP_MLP  YAML lists              [[256,64,16] / [256,64,1]]
#   BATCH          global batch size              [2048]
#   EVAL_SAMPLES   eval split size                [100000]
#   DRIFT          0 = no drift, else the sample index where it starts [samples/2]
#   STORAGES       space-separated compressed storages [HASH QR CAFE CAFE_MULTILEVEL]
#   CRS            space-separated ratios          [10 100 1000 10000]
#   WITH_FULL      0 = skip the FULL run           [1]
#   CONFIG         base experiment                 [configs/cafe_synthetic.yaml]
#   RESULTS_DIR    where results go                [runs/cafe_study]
#   EXTRA_SETS     more --set overrides, space-separated (e.g.
#                  "embedding.optimizer.type=ROWWISE_ADAGRAD embedding.optimizer.lr=0.05")
#   KEEP_CHECKPOINTS  1 = keep each run's final checkpoint (FULL's is GBs) [0]
#   TRAIN          the trainer binary              [build/launcher/shardrec-train]
# e.g. the full study (about 16 hours: ~12k samples/s with 26 features and the
# paper's MLP on 2 cores, so about an hour per run):
#   CARDINALITIES=default BOTTOM_MLP=[512,256,64,16] TOP_MLP=[512,256,1] \
#     RESULTS_DIR=runs/cafe_study_full scripts/bench/cafe_study.sh 40000000 2
set -euo pipefail
cd "$(dirname "$0")/../.."

SAMPLES=${1:-3000000}
NP=${2:-2}
BATCH=${BATCH:-2048}
EVAL_SAMPLES=${EVAL_SAMPLES:-100000}
CARDINALITIES=${CARDINALITIES:-[10,100,1000,10000,100000,1000000,5000000,25000000]}
BOTTOM_MLP=${BOTTOM_MLP:-[256,64,16]}
TOP_MLP=${TOP_MLP:-[256,64,1]}
STORAGES=${STORAGES:-HASH QR CAFE CAFE_MULTILEVEL}
CRS=${CRS:-10 100 1000 10000}
WITH_FULL=${WITH_FULL:-1}
CONFIG=${CONFIG:-configs/cafe_synthetic.yaml}
RESULTS_DIR=${RESULTS_DIR:-runs/cafe_study}
EXTRA_SETS=${EXTRA_SETS:-}
KEEP_CHECKPOINTS=${KEEP_CHECKPOINTS:-0}
TRAIN=${TRAIN:-build/launcher/shardrec-train}

STEPS=$((SAMPLES / BATCH))
if ((STEPS < 1)); then
  echo "cafe_study: $SAMPLES samples is less than one batch of $BATCH" >&2
  exit 2
fi
TRAIN_SAMPLES=$((STEPS * BATCH))
DRIFT=${DRIFT:-$((TRAIN_SAMPLES / 2))}
[[ -x $TRAIN ]] || { echo "cafe_study: $TRAIN not built (cmake --build build --target shardrec-train)" >&2; exit 2; }

MPI=(mpirun -np "$NP" --oversubscribe)
[[ $(id -u) == 0 ]] && MPI+=(--allow-run-as-root)

COMMON=(
  "data.synthetic.num_train_samples=$TRAIN_SAMPLES"
  "data.synthetic.num_eval_samples=$EVAL_SAMPLES"
  "data.synthetic.drift_after_samples=$DRIFT"
  embedding.max_rows=1000000000   # FULL really is one row per id
  # Every table whole on one rank (TABLE_WISE): a compressed table's storage is
  # built per shard, so with row-wise shards CAFE's "at most 2000 x CR ids stay
  # full" rule would be applied to each shard's ids, not the table's (see docs/cafe.md).
  embedding.row_wise_min_rows=1000000000000
  "model.dlrm.bottom_mlp=$BOTTOM_MLP"
  "model.dlrm.top_mlp=$TOP_MLP"
  "train.global_batch_size=$BATCH"
  "train.steps=$STEPS"
  train.eval_every=0
  train.eval_samples=0
  train.checkpoint_every=0
  "train.log_every=$(((STEPS + 9) / 10))"
)
[[ $CARDINALITIES != default ]] && COMMON+=("data.synthetic.cardinalities=$CARDINALITIES")
read -r -a EXTRA <<<"$EXTRA_SETS"  # split on spaces, no globbing
COMMON+=("${EXTRA[@]}")

mkdir -p "$RESULTS_DIR/runs"
TSV=$RESULTS_DIR/results.tsv
printf 'storage\tcr\tauc\tlogloss\tsamples_per_sec\tplanted_optimum_auc\tembedding_mb\teffective_cr\twall_s\n' >"$TSV"
echo "== CAFE study: $STEPS steps x $BATCH = $TRAIN_SAMPLES samples per run, drift after $DRIFT," \
  "$EVAL_SAMPLES eval samples, np $NP, cardinalities $CARDINALITIES -> $TSV"

# One row of the TSV from a run's metrics.jsonl and log.
row() {  # storage cr run_dir log wall_s
  python3 - "$@" <<'EOF'
import json, math, re, sys
storage, cr, run, log, wall = sys.argv[1:]
ev = {}
try:
    for line in open(f"{run}/metrics.jsonl"):
        e = json.loads(line)
        ev[e["event"]] = e
except OSError:
    pass
text = open(log, errors="replace").read()
# Full tables' weights from the plan (rows x dim of every table, logical rows).
plan = {t: int(r) * int(d) * 4 / 1e6
        for t, r, d in re.findall(r"^\s+(t\d+)\s+[A-Z_]+\s+rows\s+(\d+)\s+dim\s+(\d+)", text, re.M)}
full = sum(plan.values())
# Compressed tables log what each shard allocated; a table without such a line
# is stored FULL (a per-table override, or the FULL run) and costs its plan size.
alloc = {}
for t, mb in re.findall(r"table '([^']+)' shard \d+: .*?allocated ([0-9.e+-]+) MB", text):
    alloc[t] = alloc.get(t, 0.0) + float(mb)
emb = sum(alloc.values()) + sum(mb for t, mb in plan.items() if t not in alloc)
nan = float("nan")
fin, opt = ev.get("final", {}), ev.get("planted_optimum", {})
cols = [storage, cr, fin.get("auc", nan), fin.get("logloss", nan), fin.get("samples_per_sec", nan),
        opt.get("auc", nan), emb, full / emb if emb > 0 else nan, float(wall)]
print("\t".join(c if isinstance(c, str) else f"{c:.6g}" for c in cols))
EOF
}

run_one() {  # storage cr
  local storage=$1 cr=$2
  local name=${storage}_${cr}
  local out=$RESULTS_DIR/runs/$name
  rm -rf "$out"
  mkdir -p "$out"
  local sets=("${COMMON[@]}" train.output_dir="$out" name="cafe_study_$name"
    embedding.default_compression.storage="$storage" embedding.default_compression.compression_ratio="$cr")
  local args=()
  for s in "${sets[@]}"; do args+=(--set "$s"); done
  local start=$SECONDS status=0
  "${MPI[@]}" "$TRAIN" --config "$CONFIG" "${args[@]}" >"$out/train.log" 2>&1 || status=$?
  local wall=$((SECONDS - start))
  ((KEEP_CHECKPOINTS)) || rm -rf "$out/checkpoints"
  if ((status != 0)); then
    echo "   $name FAILED (exit $status) after ${wall}s; last lines of $out/train.log:" >&2
    tail -n 5 "$out/train.log" | sed 's/^/     /' >&2
  fi
  row "$storage" "$cr" "$out" "$out/train.log" "$wall" | tee -a "$TSV" | awk -F'\t' '{printf "   %-16s CR %-6s AUC %s (%s s)\n", $1, $2, $3, $9}'
}

((WITH_FULL)) && run_one FULL 1
for cr in $CRS; do
  for storage in $STORAGES; do
    run_one "$storage" "$cr"
  done
done

echo
python3 - "$TSV" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| storage | CR | eval AUC | logloss | samples/s | planted optimum AUC | gap to optimum | embedding MB | effective CR |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    f = {k: float(v) for k, v in r.items() if k not in ("storage", "cr")}
    print(f"| {r['storage']} | {r['cr']} | {f['auc']:.4f} | {f['logloss']:.4f} | {f['samples_per_sec']:.0f} | "
          f"{f['planted_optimum_auc']:.4f} | {f['planted_optimum_auc'] - f['auc']:.4f} | "
          f"{f['embedding_mb']:.3g} | {f['effective_cr']:.3g} |")
EOF
