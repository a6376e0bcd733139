#!/usr/bin/env bash
# Sets up a fresh machine, builds, and runs the whole test suite with CTest:
# unit tests, multi-rank tests under mpiexec (-n 1, 2, 4) and end-to-end runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --with-slurm
./scripts/build.sh
cd "${SHARDREC_BUILD_DIR:-build}"
# Tests that use the public datasets find them in ../shared/data (or $SHARDREC_DATA_DIR)
# and skip with a reason when they are absent.
ctest --output-on-failure -j"$(nproc)" "$@"
