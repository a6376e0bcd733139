#!/usr/bin/env bash
# precision.compute: BF16 and FP16 training track FP32 on DLRM (tiny_dlrm, 300
# steps) and on HSTU (tiny_hstu on MovieLens 100K, 100 steps); under FP16 an
# overflow — forced at the start by an absurd initial loss scale of 1e12 — is
# skipped (logged, nothing applied), the scale shrinks, and training recovers.
# The HSTU half is skipped (with a message) when MovieLens 100K is absent.
source "$(dirname "$0")/common.sh" "$@"

D=(--set train.steps=300 --set train.log_every=25)
run 2 fp32 "${D[@]}"
run 2 bf16 "${D[@]}" --set precision.compute=BF16
run 2 fp16 "${D[@]}" --set precision.compute=FP16 --set precision.loss_scale=1e12
grep -q "step 1: fp16 overflow (.*); step skipped, loss scale now 5e+11" "$WORK/fp16.log" ||
  fail "the forced overflow was not skipped and logged: $(grep -m3 overflow "$WORK/fp16.log")"
skipped=$(final fp16 skipped_steps)
[ "$skipped" -ge 1 ] && [ "$skipped" -le 60 ] || fail "fp16 skipped $skipped steps (expected a few, then recovery)"
for p in bf16 fp16; do
  a=$(final $p auc) b=$(final fp32 auc)
  close "$a" "$b" 0.02 || fail "DLRM $p: eval AUC $a vs fp32 $b"
  la=$(mean_loss $p 150) lb=$(mean_loss fp32 150)
  close "$la" "$lb" 0.02 || fail "DLRM $p: mean loss over steps 151-300 $la vs fp32 $lb"
  echo "DLRM $p: AUC $a (fp32 $b), mean loss (steps 151-300) $la (fp32 $lb)"
done
echo "DLRM fp16: $skipped step(s) skipped for overflow, then recovered"
# One rank under the same bf16 policy agrees with two (only summation order differs).
run 1 bf16_n1 "${D[@]}" --set precision.compute=BF16
a=$(final bf16_n1 auc) b=$(final bf16 auc)
close "$a" "$b" 0.01 || fail "DLRM bf16: -n 1 AUC $a vs -n 2 $b"
echo "DLRM bf16: -n 1 AUC $a, -n 2 AUC $b"

DATA="${SHARDREC_DATA_DIR:-$SRC/../shared/data}"
if [ ! -r "$DATA/movielens-100k/u.data" ]; then
  echo "HSTU part skipped: $DATA/movielens-100k/u.data not found"
  echo "PASS"
  exit 0
fi
TINY="$SRC/tests/integration/tiny_hstu.yaml"
H=(--set "data.data_root=$DATA" --set train.steps=100 --set train.eval_every=0 --set train.log_every=10)
run 2 hfp32 "${H[@]}"
run 2 hbf16 "${H[@]}" --set precision.compute=BF16
run 2 hfp16 "${H[@]}" --set precision.compute=FP16
for p in hbf16 hfp16; do
  la=$(mean_loss $p 50) lb=$(mean_loss hfp32 50)
  close "$la" "$lb" 0.03 || fail "HSTU $p: mean loss over steps 51-100 $la vs fp32 $lb"
  echo "HSTU $p: mean loss (steps 51-100) $la (fp32 $lb)"
done
echo "PASS"
