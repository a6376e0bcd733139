#!/usr/bin/env bash
# The default experiment (configs/dlrm_synthetic.yaml, exactly what
# quickstart.sh trains, with mpirun -np 2) reaches an eval AUC within 0.02 of
# the planted click model's best achievable AUC on the same eval samples.
source "$(dirname "$0")/common.sh" "$@"
unset OMP_NUM_THREADS  # as the quickstart runs it
"$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$SRC/configs/dlrm_synthetic.yaml" \
  --set "train.output_dir=$WORK/q" train.checkpoint_every=0 >"$WORK/q.log" 2>&1 || { tail -30 "$WORK/q.log"; fail "training failed"; }
grep -E "planted|eval at|done:" "$WORK/q.log"
best=$(sed -n 's/.*"event": "planted_optimum", "auc": \([0-9.e+-]*\).*/\1/p' "$WORK/q/metrics.jsonl")
got=$(grep '"event": "final"' "$WORK/q/metrics.jsonl" | grep -oE '"auc": [0-9.e+-]+' | awk '{print $2}')
[ -n "$best" ] && [ -n "$got" ] || fail "metrics log lacks the planted optimum or the final AUC"
awk -v b="$best" -v g="$got" 'BEGIN { printf "eval AUC %.4f, planted optimum %.4f, gap %.4f (allowed 0.02)\n", g, b, b - g
                                       exit (b - g <= 0.02) ? 0 : 1 }' || fail "AUC gap above 0.02"
echo "PASS"
