#!/usr/bin/env bash
# Builds shardrec with AddressSanitizer + UndefinedBehaviorSanitizer into
# ./build-asan and runs the whole test suite under them. Any report fails the
# test that triggered it (-fno-sanitize-recover, halt_on_error). About 15 min
# to build and 25 min to test on 2 cores; a check to run before a release and
# after touching memory-handling code, not part of the CI run.
#   ./scripts/sanitize.sh [ctest args, e.g. -R embedding]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${SHARDREC_ASAN_BUILD_DIR:-build-asan}
./scripts/setup.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDREC_SANITIZE=address,undefined \
  -DSHARDREC_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
# Open MPI and hwloc keep allocations until exit by design: suppressed (see the
# file). Their libraries have no frame pointers, so leaks are unwound fully to
# find them. mpiexec passes these variables on to every rank.
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export SHARDREC_SLURM_TEST_STEPS=20000  # the Slurm preemption test's run, shortened for the ~10x slower build
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 1500 "$@"
