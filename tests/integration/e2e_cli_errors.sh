#!/usr/bin/env bash
# The launcher's documented failures: a config typo names the key and suggests
# the right one; --dump-config prints the effective config; a corrupt
# checkpoint is refused with the file named, leaving it in place.
source "$(dirname "$0")/common.sh" "$@"
out=$("$TRAIN" --config "$TINY" --set train.stesp=5 2>&1) && fail "typo accepted"
echo "$out" | grep -q "unknown key 'train.stesp' (--set train.stesp=5); did you mean 'train.steps'?" || fail "typo message: $out"
out=$("$TRAIN" --config "$TINY" --set train.global_batch_size=0 2>&1) && fail "batch 0 accepted"
echo "$out" | grep -q "train.global_batch_size = 0 is out of range: must be >= 1" || fail "range message: $out"
"$TRAIN" --config "$TINY" --set train.steps=7 --dump-config | grep -qE "^  steps: 7$" || fail "dump-config"
run 1 ck --set train.steps=4
f="$WORK/ck/checkpoints/step_0000000004/embedding_rank0.bin"
printf 'garbage' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
out=$("$TRAIN" --config "$TINY" --set train.output_dir="$WORK/ck" train.steps=8 --resume 2>&1) && fail "corrupt checkpoint accepted"
echo "$out" | grep -q "embedding_rank0.bin: CRC32 mismatch" || fail "corrupt message: $out"
[ -f "$f" ] || fail "the corrupt checkpoint was removed"
echo "PASS"
