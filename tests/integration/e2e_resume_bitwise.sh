#!/usr/bin/env bash
# Three segments with checkpoint/resume give bitwise the same parameters and
# optimizer state as one uninterrupted run (2 ranks).
source "$(dirname "$0")/common.sh" "$@"
run 2 whole --set train.steps=30
run 2 parts --set train.steps=30 train.stop_after_steps=10
run 2 parts --set train.steps=30 train.stop_after_steps=10 --resume
grep -q "resumed from .*step_0000000010 at step 10" "$WORK/parts.log" || fail "second segment did not resume at step 10"
run 2 parts --set train.steps=30 train.stop_after_steps=10 --resume
grep -q "resumed from .*step_0000000020 at step 20" "$WORK/parts.log" || fail "third segment did not resume at step 20"
a="$WORK/whole/checkpoints/step_0000000030"
b="$WORK/parts/checkpoints/step_0000000030"
same_checkpoint "$a" "$b" dense.bin embedding_rank0.bin embedding_rank1.bin
# The loss curves agree exactly too.
diff <(losses whole) <(losses parts) || fail "loss curves differ"
echo "PASS: resumed parameters, optimizer state and losses are bitwise identical"
