#!/usr/bin/env bash
# precision.embedding_storage: BF16 and FP16 rows (stochastic rounding on
# update) train the tiny DLRM to the same AUC and loss as FP32 rows within a
# stated tolerance over 300 steps; the rows take exactly half the bytes (the
# start-up log); -n 1 and -n 2 agree; and a table's own `dtype` overrides
# the default.
source "$(dirname "$0")/common.sh" "$@"
row_mb() { grep -oE "embedding tables: [0-9.e+]+ MB of rows \\($2\\)" "$WORK/$1.log" | awk '{print $3}'; }

D=(--set train.steps=300 --set train.log_every=25)
run 2 fp32 "${D[@]}"
run 2 bf16 "${D[@]}" --set precision.embedding_storage=BF16
run 2 fp16 "${D[@]}" --set precision.embedding_storage=FP16
f=$(row_mb fp32 FP32) b=$(row_mb bf16 BF16) h=$(row_mb fp16 FP16)
[ -n "$f" ] && [ -n "$b" ] && [ -n "$h" ] || fail "start-up log lacks the embedding bytes: $(grep -m1 'embedding tables' "$WORK/bf16.log")"
close "$b" "$(awk -v f="$f" 'BEGIN { print f / 2 }')" 1e-6 || fail "bf16 rows take $b MB, fp32 $f MB (expected half)"
close "$h" "$b" 1e-6 || fail "fp16 rows take $h MB, bf16 $b MB"
echo "rows: fp32 $f MB, bf16 $b MB, fp16 $h MB"
for p in bf16 fp16; do
  a=$(final $p auc) c=$(final fp32 auc)
  close "$a" "$c" 0.01 || fail "$p storage: eval AUC $a vs fp32 $c"
  la=$(mean_loss $p 150) lb=$(mean_loss fp32 150)
  close "$la" "$lb" 0.01 || fail "$p storage: mean loss over steps 151-300 $la vs fp32 $lb"
  echo "$p storage: AUC $a (fp32 $c), mean loss (steps 151-300) $la (fp32 $lb)"
done
# One rank: the rows update bitwise alike (rounding keyed by logical row); only
# the dense all-reduce order differs.
run 1 bf16_n1 "${D[@]}" --set precision.embedding_storage=BF16
a=$(final bf16_n1 auc) c=$(final bf16 auc)
close "$a" "$c" 0.005 || fail "bf16 storage: -n 1 AUC $a vs -n 2 $c"
echo "bf16 storage: -n 1 AUC $a, -n 2 AUC $c"
# A table's own type wins over the default: t7 FP32 under a BF16 default.
run 2 override --set train.steps=2 --set precision.embedding_storage=BF16 --set embedding.tables.7.dtype=FP32
grep -q "embedding tables: .* MB of rows (BF16/FP32)" "$WORK/override.log" ||
  fail "per-table dtype ignored: $(grep -m1 'embedding tables' "$WORK/override.log")"
echo "PASS"
