#!/usr/bin/env bash
# A real single-node Slurm runs scripts/slurm/train.sbatch with 2 tasks:
# 1. a short training exits 0 with a checkpoint and a metrics log;
# 2. a longer one gets SIGUSR1 mid-run (as --signal delivers before a time
#    limit), checkpoints, exits 75, is requeued by the script, resumes, and ends
#    with bitwise the same parameters as the uninterrupted run of step 1's kind.
# Starts the cluster (scripts/slurm/local_cluster.sh) and stops it afterwards.
# Exit 77 (skipped) when Slurm is not installed or we are not root.
source "$(dirname "$0")/common.sh" "$@"
if [ "$(id -u)" -ne 0 ] || ! command -v slurmctld >/dev/null; then
  echo "SKIP: needs root and slurm-wlm (scripts/setup.sh installs it)"
  exit 77
fi
started_here=0
if ! scontrol ping 2>/dev/null | grep -q "is UP"; then
  rc=0
  bash "$SRC/scripts/slurm/local_cluster.sh" start || rc=$?
  [ "$rc" -eq 3 ] && { echo "SKIP: this machine cannot run slurmd (no cgroup filesystem, e.g. a chroot)"; exit 77; }
  [ "$rc" -eq 0 ] || fail "could not start the local Slurm cluster"
  started_here=1
fi
job=
cleanup_slurm() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    # What Slurm thought of it, for a failure that did not say enough itself.
    [ -n "$job" ] && { scontrol show job "$job" 2>&1 || true; }
    echo "--- last lines of the controller's log:"
    tail -n 25 /var/log/slurm/slurmctld.log 2>/dev/null || true
    [ -f "$WORK/long.log" ] && { echo "--- last lines of the long job's output:"; tail -n 25 "$WORK/long.log"; }
  fi
  [ "$started_here" -eq 1 ] && bash "$SRC/scripts/slurm/local_cluster.sh" stop
  rm -rf "$WORK"
}
trap cleanup_slurm EXIT
export SHARDREC_TRAIN="$TRAIN"
cd "$SRC"

# 1. A short job.
sbatch --wait --output="$WORK/short.log" scripts/slurm/train.sbatch "$TINY" --set train.output_dir="$WORK/short" \
  >/dev/null || { cat "$WORK/short.log"; fail "short job failed"; }
grep -q "launched by Slurm job" "$WORK/short.log" || fail "the launcher did not see the Slurm environment"
[ -f "$WORK/short/checkpoints/step_0000000050/manifest.pb" ] || fail "short job left no checkpoint"
grep -q '"event": "final"' "$WORK/short/metrics.jsonl" || fail "short job left no final metrics"

# 2. Preempted and requeued.
# Long enough (~30 s alone) that the signal, sent at 1%, lands mid-run even
# on a loaded machine, where starting the job and delivering the signal take
# seconds; sanitizer builds, ~10x slower, run fewer steps
# (scripts/sanitize.sh sets SHARDREC_SLURM_TEST_STEPS).
STEPS=${SHARDREC_SLURM_TEST_STEPS:-200000}
MARK=$((STEPS / 100))
SETS=(train.steps=$STEPS train.log_every=$MARK)
run 2 whole --set "${SETS[@]}"
job=$(sbatch --parsable --output="$WORK/long.log" scripts/slurm/train.sbatch "$TINY" \
  --set train.output_dir="$WORK/long" "${SETS[@]}")
# The metrics log, flushed by rank 0 at every write, shows progress reliably; the
# job's captured output may arrive late (srun and slurmstepd buffer it), and a
# signal sent after the job finished would never requeue it.
wait_for_log "$WORK/long/metrics.jsonl" "\"step\": $MARK" 1200 || fail "the long job did not reach step $MARK in 120 s"
# A busy controller (two busy ranks on two cores) can time out; ask again.
for attempt in 1 2 3 4 5; do
  scancel --signal=USR1 "$job" && break
  [ "$attempt" -lt 5 ] || fail "scancel could not signal job $job"
  sleep 1
done
# job_field NAME: the job's NAME= field, or nothing when the controller does not
# answer (a busy controller times out; the next poll asks again).
job_field() { { scontrol show job "$job" 2>/dev/null || true; } | sed -n "s/.*[ ]$1=\([A-Za-z0-9_]*\).*/\1/p"; }
state= restarts=
for _ in $(seq 1200); do
  s=$(job_field JobState) r=$(job_field Restarts)
  state=${s:-$state} restarts=${r:-$restarts}
  [ "$state" = COMPLETED ] && grep -q "\] done:" "$WORK/long.log" && break
  # Slurm holds a requeued job for a while (BeginTime); start it now.
  # Once the previous run's step daemons are gone (starting earlier makes the new step's launch fail).
  if [ "$state" = PENDING ] && [ "${restarts:-0}" -ge 1 ] && ! pgrep -f "slurmstepd: \[$job" >/dev/null; then
    sleep 1
    scontrol update JobId="$job" StartTime=now 2>/dev/null || true
  fi
  # (A requeue passes through transient states such as REQUEUED or CANCELLED.)
  sleep 0.2
done
grep -E "signal|requeue|resumed|restart" "$WORK/long.log" || true
[ "$state" = COMPLETED ] || { cat "$WORK/long.log"; fail "job did not complete (state $state)"; }
if [ "${restarts:-0}" -lt 1 ]; then
  cat "$WORK/long.log"
  grep -q "stop signal" "$WORK/long.log" || fail "the job finished all $STEPS steps before the stop signal landed" \
    "(sent at step $MARK; is the machine overloaded?)"
  fail "job was not requeued (Restarts=$restarts)"
fi
grep -q "requeueing job $job" "$WORK/long.log" || fail "the batch script did not requeue"
last=$(printf 'step_%010d' $STEPS)
same_checkpoint "$WORK/whole/checkpoints/$last" "$WORK/long/checkpoints/$last" dense.bin embedding_rank0.bin \
  embedding_rank1.bin
echo "PASS: Slurm job ran, was preempted, requeued, resumed and matched the uninterrupted run bitwise"
