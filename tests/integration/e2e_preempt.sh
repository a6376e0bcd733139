#!/usr/bin/env bash
# Preemption: SIGUSR1 to mpirun mid-run (what `sbatch --signal` delivers) makes
# every rank stop after the same step, write a checkpoint and exit with 75
# (requeue); --resume then finishes with bitwise the same parameters and
# optimizer state as an uninterrupted run.
source "$(dirname "$0")/common.sh" "$@"
STEPS=20000
SETS=(train.steps=$STEPS train.log_every=5000)
run 2 whole --set "${SETS[@]}"
"$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set "train.output_dir=$WORK/parts" "${SETS[@]}" \
  >"$WORK/parts.log" 2>&1 &
pid=$!
# Signal once training is under way (handlers are installed before step 1).
wait_for_log "$WORK/parts.log" "step 5000/" || true
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
grep -E "signal|stopped" "$WORK/parts.log" || true
[ "$rc" -eq 75 ] || { tail -20 "$WORK/parts.log"; fail "expected exit status 75 after SIGUSR1, got $rc"; }
stopped=$(sed -n 's/.*stopping after step \([0-9]*\).*/\1/p' "$WORK/parts.log")
[ -n "$stopped" ] && [ "$stopped" -lt "$STEPS" ] || fail "no mid-run stop recorded"
[ -f "$WORK/parts/checkpoints/$(printf 'step_%010d' "$stopped")/manifest.pb" ] || fail "no checkpoint at step $stopped"
run 2 parts --set "${SETS[@]}" --resume
grep -q "resumed from .* at step $stopped" "$WORK/parts.log" || fail "did not resume at step $stopped"
last=$(printf 'step_%010d' $STEPS)
same_checkpoint "$WORK/whole/checkpoints/$last" "$WORK/parts/checkpoints/$last" dense.bin embedding_rank0.bin \
  embedding_rank1.bin
echo "PASS: stopped at step $stopped with status 75; resumed run is bitwise identical"
