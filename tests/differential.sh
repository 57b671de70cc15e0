#!/usr/bin/env bash
# tests/differential.sh — a long random differential campaign: ocicred against containers/image,
# the docker CLI and oras-go (tests/it/differential.rs) on generated configurations.
#
#   tests/differential.sh [--seed HEX] [--cases N]     (default: a random seed, 200000 cases)
#
# Prints the seed of every case that disagrees; once its cause is fixed or written up, keep it as
# a JSON fixture in testdata/differential/ (OCICRED_DIFF_SHOW=<seed> ... differential::show).
set -euo pipefail
cd "$(dirname "$0")/.."
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) export OCICRED_DIFF_SEED=$2; shift 2 ;;
    --seed-random) shift ;;
    --cases) export OCICRED_DIFF_CASES=$2; shift 2 ;;
    *) echo "usage: tests/differential.sh [--seed HEX] [--cases N]" >&2; exit 2 ;;
  esac
done
tests/go/build.sh
exec cargo test --locked --test it differential::campaign -- --ignored --nocapture
