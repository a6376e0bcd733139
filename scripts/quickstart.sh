#!/usr/bin/env bash
# From a fresh machine to a trained model: installs dependencies, builds
# (Release), and trains the default DLRM on Criteo-shaped synthetic data under
# `mpirun -np 2`, with model-parallel embedding tables and data-parallel MLPs.
# Prints AUC, logloss and samples/s; leaves a checkpoint and a metrics log.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
CONFIG=${CONFIG:-configs/dlrm_synthetic.yaml}
./scripts/setup.sh
echo "== building shardrec-train (Release)"
./scripts/build.sh --target shardrec-train
MPI_FLAGS=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && MPI_FLAGS+=(--allow-run-as-root)
echo "== training: mpirun -np $NP build/launcher/shardrec-train --config $CONFIG $*"
# The synthetic dataset is generated on the fly by every rank (sample i is a pure
# function of the seed and i), so there is nothing to download.
mpirun -np "$NP" "${MPI_FLAGS[@]}" build/launcher/shardrec-train --config "$CONFIG" "$@"
