# Shared by the end-to-end tests. Usage: source common.sh TRAIN_BIN MPIEXEC SOURCE_DIR [CONFIG [ARGS...]]
# CONFIG (default tiny_dlrm.yaml) is a file in tests/integration; ARGS (e.g.
# --set precision.embedding_storage=BF16) are added to every run, so one check
# can be repeated under another setting.
set -Eeuo pipefail
# A command that fails outside a condition ends the test (set -e); say which, so
# a failure never arrives without a reason (-E: also inside functions).
trap 'err_status=$?; echo "FAIL: ${BASH_SOURCE[0]##*/} line $LINENO: \`$BASH_COMMAND\` exited $err_status" >&2' ERR
TRAIN=$1
MPIEXEC=$2
SRC=$3
TINY="$SRC/tests/integration/${4:-tiny_dlrm.yaml}"
EXTRA=("${@:5}")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shardrec-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MPI_FLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI_FLAGS+=(--allow-run-as-root)
export OMP_NUM_THREADS=1

# run NP OUTDIR [args...]: trains with NP ranks, output under $WORK/OUTDIR.
run() {
  local np=$1 out=$2
  shift 2
  "$MPIEXEC" -np "$np" "${MPI_FLAGS[@]}" "$TRAIN" --config "$TINY" --set "train.output_dir=$WORK/$out" "${EXTRA[@]}" "$@" \
    >"$WORK/$out.log" 2>&1 || { echo "run failed: np=$np $*"; tail -30 "$WORK/$out.log"; exit 1; }
}

# losses OUTDIR: "step loss" per line from the metrics log.
losses() {
  grep '"event": "train"' "$WORK/$1/metrics.jsonl" |
    sed -E 's/.*"step": ([0-9.e+]+).*"loss": ([-0-9.e+]+).*/\1 \2/'
}

# final OUTDIR KEY: KEY of the run's final metrics record.
final() { grep '"event": "final"' "$WORK/$1/metrics.jsonl" | grep -oE "\"$2\": [-0-9.e+]+" | awk '{print $2}'; }
# close A B R: |A - B| <= R |B|.
close() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= r * m) }'; }
# mean_loss OUTDIR FROM: the mean logged loss over steps > FROM.
mean_loss() { losses "$1" | awk -v f="$2" '$1 > f { s += $2; n++ } END { printf "%.6f", s / n }'; }

fail() {
  echo "FAIL: $*"
  exit 1
}

# wait_for_log FILE PATTERN [tenths of a second = 600]: until FILE has a line matching PATTERN.
wait_for_log() {
  local i
  for ((i = 0; i < ${3:-600}; ++i)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# same_checkpoint DIR_A DIR_B FILE...: the named checkpoint files are byte-identical.
same_checkpoint() {
  local a=$1 b=$2 f
  shift 2
  for f in "$@"; do
    cmp "$a/$f" "$b/$f" || fail "$f differs between $a and $b"
  done
}
