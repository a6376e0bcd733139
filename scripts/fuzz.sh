#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a bounded
# time on its seed corpus (tests/fuzz/corpus/<target>/, plus new inputs found,
# kept in build-fuzz/corpus/<target>/). A crash stops with the input saved as
# build-fuzz/crash-*; fix it and add the input to the seed corpus.
#   scripts/fuzz.sh [seconds per target = 60] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(fuzz_criteo_line fuzz_binary_file fuzz_config_yaml fuzz_checkpoint fuzz_sequence_file)
command -v clang++ >/dev/null || { echo "fuzz.sh needs clang++ (apt-get install clang libclang-rt-14-dev)"; exit 2; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DSHARDREC_FUZZ=ON -DSHARDREC_BUILD_TESTS=OFF \
  -DSHARDREC_BLAS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${TARGETS[@]}"
printf "| target | seconds | executions | exec/s | corpus | crashes |\n|---|---|---|---|---|---|\n" >build-fuzz/summary.md
for t in "${TARGETS[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  log="build-fuzz/$t.log"
  rc=0
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=0 "./tests/fuzz/$t" -max_total_time="$SECONDS_PER" -rss_limit_mb=4096 \
    -timeout=10 "corpus/$t" "../tests/fuzz/corpus/$t") >"$log" 2>&1 || rc=$?
  execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || true)
  [ -n "$execs" ] || execs=$(grep -oE "#[0-9]+" "$log" | tail -1 | tr -d '#')
  units=$(ls "build-fuzz/corpus/$t" | wc -l)
  crashes=$([ "$rc" -eq 0 ] && echo 0 || echo "1 (see $log)")
  printf "| %s | %s | %s | %s | %s | %s |\n" "$t" "$SECONDS_PER" "$execs" $((execs / SECONDS_PER)) "$units" "$crashes" \
    >>build-fuzz/summary.md
  [ "$rc" -eq 0 ] || { tail -40 "$log"; echo "fuzz.sh: $t failed"; cat build-fuzz/summary.md; exit 1; }
done
cat build-fuzz/summary.md
