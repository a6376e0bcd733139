#!/usr/bin/env bash
# Configures and builds shardrec (Release) into ./build. Extra arguments go to
# `cmake --build` (e.g. --target shardrec-train).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SHARDREC_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${SHARDREC_CMAKE_ARGS:-} >/dev/null
# Each C++ job can take ~1 GB; keep -j at the core count.
cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
