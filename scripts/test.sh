#!/usr/bin/env bash
# Sets up a fresh machine, builds, and runs the whole test suite with CTest:
# unit tests, multi-rank tests under mpiexec (-n 1, 2, 4) and end-to-end runs.
# Where the CUDA toolkit is installed it also builds the CUDA backend
# (-DSHARDREC_WITH_CUDA=ON, into build-cuda) and runs its tests; those that
# need a GPU skip, saying why, on a machine without one. SHARDREC_TEST_CUDA=0
# leaves the CUDA build out.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --with-slurm
./scripts/build.sh
BUILD_DIR=${SHARDREC_BUILD_DIR:-build}
# Tests that use the public datasets find them in ../shared/data (or $SHARDREC_DATA_DIR)
# and skip with a reason when they are absent.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"

nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ "${SHARDREC_TEST_CUDA:-1}" = 0 ]; then
  echo "test.sh: SHARDREC_TEST_CUDA=0: the CUDA backend was not built"
elif [ -z "$nvcc" ]; then
  echo "test.sh: no CUDA toolkit (nvcc) on this machine: the CUDA backend was not built or tested"
else
  SHARDREC_BUILD_DIR="$BUILD_DIR-cuda" \
    SHARDREC_CMAKE_ARGS="-DSHARDREC_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER=$nvcc ${SHARDREC_CMAKE_ARGS:-}" ./scripts/build.sh
  ctest --test-dir "$BUILD_DIR-cuda" --output-on-failure -L cuda
  # Why the GPU tests skipped, if they did (ctest lists only their names).
  grep -h "no CUDA device\|needs a GPU per rank" "$BUILD_DIR-cuda/Testing/Temporary/LastTest.log" | sort -u || true
fi
