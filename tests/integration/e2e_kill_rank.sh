#!/usr/bin/env bash
# A rank killed with SIGKILL mid-training (-n 2 and -n 4): mpirun exits
# non-zero promptly, the last complete checkpoint is intact, and --resume
# finishes with bitwise the same parameters as an uninterrupted run.
source "$(dirname "$0")/common.sh" "$@"
STEPS=14000
SETS=(train.steps=$STEPS train.log_every=2000 train.checkpoint_every=2000 train.keep_last=2)
for np in 2 4; do
  run $np whole$np --set "${SETS[@]}"
  "$MPIEXEC" -np $np "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set "train.output_dir=$WORK/k$np" "${SETS[@]}" \
    >"$WORK/k$np.log" 2>&1 &
  pid=$!
  wait_for_log "$WORK/k$np.log" "checkpoint written: .*step_0000006000" || true
  victim=$(pgrep -f "shardrec-train --config $TINY --set train.output_dir=$WORK/k$np" | tail -1)
  [ -n "$victim" ] || fail "no rank to kill"
  start=$(date +%s)
  kill -KILL "$victim"
  rc=0
  wait "$pid" || rc=$?
  took=$(($(date +%s) - start))
  echo "-n $np: killed rank pid $victim; mpirun exited $rc after ${took}s"
  [ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
  [ "$took" -le 60 ] || fail "the job took ${took}s to notice the dead rank"
  latest=$(ls -d "$WORK/k$np"/checkpoints/step_* | grep -v '\.tmp$' | tail -1)
  [ -f "$latest/manifest.pb" ] || fail "no complete checkpoint left"
  run $np k$np --set "${SETS[@]}" --resume
  grep -q "resumed from $latest" "$WORK/k$np.log" || fail "did not resume from $latest"
  last=$(printf 'step_%010d' $STEPS)
  files=(dense.bin)
  for ((r = 0; r < np; ++r)); do files+=("embedding_rank$r.bin"); done
  same_checkpoint "$WORK/whole$np/checkpoints/$last" "$WORK/k$np/checkpoints/$last" "${files[@]}"
done
echo "PASS"
