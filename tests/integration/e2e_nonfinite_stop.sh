#!/usr/bin/env bash
# A diverging run (SGD at lr 1e30) stops at the first non-finite loss or
# gradient, on every rank, before applying it: the error names the step and the
# quantity, the last good state is a complete checkpoint of the step before,
# and --resume loads it (and stops again at the same point).
source "$(dirname "$0")/common.sh" "$@"
ARGS=(--set optimizer.type=SGD --set optimizer.lr=1e30 --set train.steps=50 --set train.log_every=1)
out=$("$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set train.output_dir="$WORK/nan" "${ARGS[@]}" 2>&1) &&
  fail "a diverging run exited 0"
msg=$(echo "$out" | grep -m1 "non-finite") || fail "no non-finite error: $(echo "$out" | tail -5)"
echo "$msg"
step=$(echo "$msg" | sed -E 's/.*error: step ([0-9]+): non-finite.*/\1/')
good=$((step - 1))
echo "$msg" | grep -qE "step $step: non-finite (loss|gradient of '[^']+'|gradient of the embedding lookups of feature [0-9]+) \(nothing of this step was applied\); the last good state, step $good, is saved in " ||
  fail "message does not name the step, the quantity and the checkpoint: $msg"
dir=$(printf '%s/nan/checkpoints/step_%010d' "$WORK" "$good")
[ -f "$dir/manifest.pb" ] || fail "no complete checkpoint at $dir"
# Every logged loss before the stop is finite.
losses nan | awk '{ if ($2 != $2 + 0 || $2 ~ /nan|inf/) exit 1 }' || fail "a non-finite loss was logged"
out=$("$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set train.output_dir="$WORK/nan" "${ARGS[@]}" --resume 2>&1) &&
  fail "the resumed diverging run exited 0"
echo "$out" | grep -q "resumed from $dir at step $good" || fail "did not resume from the last good state: $(echo "$out" | tail -5)"
echo "$out" | grep -q "error: step $step: non-finite" || fail "the resumed run did not stop at step $step again"
echo "PASS"
