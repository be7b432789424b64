#!/usr/bin/env bash
# One-time setup for `npm run bench` on Debian: the PyTorch reference, an optimized BLAS for it
# (without libopenblas0-pthread Debian's torch falls back to the reference BLAS at ~8 GFLOP/s),
# and oneDNN for our native kernels. Needs root (or sudo) and Debian's package mirrors.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread libdnnl-dev g++ make
# Build the addon now (npm ci also tries, but may have run before libdnnl-dev was there).
cd "$(dirname "$0")/.." && npm run build:native
