#!/usr/bin/env bash
# A checkpoint saved by 4 ranks resumes on 2 ranks and on 1: rows move by their
# logical coordinates into the new plan (row-wise shards merge, replicated
# tables collapse, table-wise placements change), and the loss curve continues
# as the uninterrupted 4-rank run's does, up to the reduction-order tolerance.
source "$(dirname "$0")/common.sh" "$@"
run 4 whole --set train.steps=30
run 4 saved --set train.steps=30 train.stop_after_steps=10
for np in 2 1; do
  cp -r "$WORK/saved" "$WORK/n$np"
  run $np n$np --set train.steps=30 --resume
  grep -q "resharding: the checkpoint was saved by 4 rank(s), this run has $np" "$WORK/n$np.log" ||
    fail "-n $np did not reshard"
  grep -q "resumed from .*step_0000000010 at step 10" "$WORK/n$np.log" || fail "-n $np did not resume at step 10"
  paste <(losses whole) <(losses n$np) | awk -v np=$np '
    { n++; d = $2 - $4; if (d < 0) d = -d; if (d > max) max = d
      if ($1 != $3 || d > 1e-5) { printf "step %s/%s: %.9g (-n 4) vs %.9g (-n %d)\n", $1, $3, $2, $4, np; bad = 1 } }
    END { printf "-n 4 -> -n %d: %d steps compared, max |loss difference| %.3g\n", np, n, max
          if (n != 30) { print "expected 30 logged steps"; bad = 1 }
          exit bad }' || fail "loss after resharding to -n $np differs"
done
echo "PASS"
