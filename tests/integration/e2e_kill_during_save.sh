#!/usr/bin/env bash
# Killing the job at many random points while it writes checkpoints (one every
# 20 steps) never leaves the newest complete checkpoint unreadable: after each
# kill, --resume from it succeeds.
source "$(dirname "$0")/common.sh" "$@"
SETS=(train.steps=100000 train.log_every=100000 train.checkpoint_every=20 train.keep_last=2)
kills=0
interrupted=0
for i in $(seq 12); do
  "$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set "train.output_dir=$WORK/ck" "${SETS[@]}" \
    --resume >"$WORK/kill$i.log" 2>&1 &
  pid=$!
  # A random moment 0.6 .. 2.0 s in: start-up takes ~0.5 s, then a save every few ms.
  sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.2f", 0.6 + 1.4 * rand() }')"
  pkill -KILL -f "shardrec-train --config $TINY --set train.output_dir=$WORK/ck" || true
  { wait "$pid"; } 2>/dev/null || true
  kills=$((kills + 1))
  ls -d "$WORK/ck"/checkpoints/*.tmp >/dev/null 2>&1 && interrupted=$((interrupted + 1))
  latest=$(ls -d "$WORK/ck"/checkpoints/step_* 2>/dev/null | grep -v '\.tmp$' | tail -1 || true)
  [ -n "$latest" ] || continue  # killed before the first save
  # The newest complete checkpoint must load: resume it for one more save and stop.
  run 2 ck --set "${SETS[@]}" train.stop_after_steps=1 --resume
  grep -q "resumed from $latest" "$WORK/ck.log" || { tail -5 "$WORK/ck.log"; fail "could not resume from $latest after kill $i"; }
done
echo "PASS: $kills kills ($interrupted of them in the middle of a save), every newest checkpoint loaded"
