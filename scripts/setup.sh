#!/usr/bin/env bash
# Installs what shardrec needs to build and run on Debian 12 / Ubuntu 22.04+.
# Idempotent: installs only missing packages, and skips apt entirely when all are present.
#   scripts/setup.sh [--with-slurm]
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build git procps
  libopenmpi-dev openmpi-bin
  libeigen3-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev
  libcli11-dev zlib1g-dev libgtest-dev libopenblas-openmp-dev libdnnl-dev
)
# --with-slurm (scripts/test.sh): the Slurm end-to-end test starts a real single-node cluster.
[ "${1:-}" = "--with-slurm" ] && PACKAGES+=(slurm-wlm munge)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
