#!/usr/bin/env bash
# Reduced-precision communication (precision.*: bf16 / fp16 on the wire, fp32
# arithmetic): training tracks the fp32 run, 1 and 2 ranks agree under the same
# policy, and the dense all-reduce sends half the bytes.
source "$(dirname "$0")/common.sh" "$@"
STEPS=(--set train.steps=300 --set train.log_every=50)
policy() { echo --set precision.embedding_forward_comm=$1 --set precision.embedding_backward_comm=$1 \
  --set precision.gradient_allreduce=$1; }
run 2 fp32 "${STEPS[@]}"
run 2 bf16 "${STEPS[@]}" $(policy BF16)
run 2 fp16 "${STEPS[@]}" $(policy FP16)
run 1 bf16_n1 "${STEPS[@]}" $(policy BF16)
for p in bf16 fp16 bf16_n1; do
  a=$(final $p auc) b=$(final fp32 auc)
  close "$a" "$b" 0.02 || fail "$p: eval AUC $a vs fp32 $b"
  la=$(losses $p | tail -1 | awk '{print $2}') lb=$(losses fp32 | tail -1 | awk '{print $2}')
  close "$la" "$lb" 0.02 || fail "$p: last loss $la vs fp32 $lb"
  echo "$p: AUC $a (fp32 $b), last loss $la (fp32 $lb)"
done
# The 1-rank run under bf16 equals the 2-rank one up to rounding.
a=$(final bf16_n1 auc) b=$(final bf16 auc)
close "$a" "$b" 0.01 || fail "bf16: -n 1 AUC $a vs -n 2 $b"
# Bytes: the all-reduce halves exactly; the all-to-all's float payload halves (ids do not).
ar32=$(final fp32 allreduce_bytes_per_step) ar16=$(final bf16 allreduce_bytes_per_step)
awk -v a="$ar16" -v b="$ar32" 'BEGIN { exit !(a * 2 == b) }' || fail "all-reduce bytes $ar16 (bf16) vs $ar32 (fp32)"
a2a32=$(final fp32 alltoall_bytes_per_step) a2a16=$(final bf16 alltoall_bytes_per_step)
awk -v a="$a2a16" -v b="$a2a32" 'BEGIN { exit !(a < 0.75 * b) }' || fail "all-to-all bytes $a2a16 (bf16) vs $a2a32 (fp32)"
echo "bytes per step: all-reduce $ar32 -> $ar16, all-to-all $a2a32 -> $a2a16"
echo "PASS"
