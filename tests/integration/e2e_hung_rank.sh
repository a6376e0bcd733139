#!/usr/bin/env bash
# A rank that is alive but stuck (SIGSTOP: as a deadlock or a hung filesystem
# would leave it) must not hang the job: the other rank, blocked in a
# collective, sees no progress for train.hang_timeout_s, says so and exits
# with status 3; mpirun then ends the whole job, and the last complete
# checkpoint resumes.
source "$(dirname "$0")/common.sh" "$@"
SETS=(train.steps=200000 train.log_every=1000 train.checkpoint_every=1000 train.hang_timeout_s=5)
"$MPIEXEC" -np 2 "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set "train.output_dir=$WORK/h" "${SETS[@]}" \
  >"$WORK/h.log" 2>&1 &
pid=$!
wait_for_log "$WORK/h.log" "checkpoint written: .*step_0000002000" || fail "training did not reach step 2000"
victim=$(pgrep -f "shardrec-train --config $TINY --set train.output_dir=$WORK/h" | tail -1)
[ -n "$victim" ] || fail "no rank to stop"
start=$(date +%s)
kill -STOP "$victim"
rc=0
wait "$pid" || rc=$?
took=$(($(date +%s) - start))
kill -KILL "$victim" 2>/dev/null || true  # if the launcher left it stopped
echo "stopped rank pid $victim; mpirun exited $rc after ${took}s"
[ "$rc" -ne 0 ] || fail "mpirun exited 0 with a stuck rank"
[ "$took" -le 60 ] || fail "the job took ${took}s to give up on the stuck rank"
grep -qE "rank [01] made no progress for [0-9]+ s \(train.hang_timeout_s 5\), last in a training step at step [0-9]+" \
  "$WORK/h.log" || fail "no watchdog message: $(tail -5 "$WORK/h.log")"
latest=$(ls -d "$WORK/h"/checkpoints/step_* | grep -v '\.tmp$' | tail -1)
[ -f "$latest/manifest.pb" ] || fail "no complete checkpoint left"
run 2 h --set train.steps=$(($(basename "$latest" | sed 's/step_0*//') + 10)) train.log_every=5 --resume
grep -q "resumed from $latest" "$WORK/h.log" || fail "did not resume from $latest"
echo "PASS"
