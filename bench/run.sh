#!/usr/bin/env bash
# Build what the benchmarks need (the project's build dir `build`, whose
# bench/ holds the bench programs) and run every workload against the peers:
#   bench/run.sh [--size small|full] [--reps N] [--only W1,W2,W3,W4,W6]
#   bench/run.sh --only W5 --w5-repo BARE_REPO   (W5, sync: run only when asked)
#   bench/run.sh --only LIST --list-repo REPO     (listings: run only when asked)
# Prints one table; writes bench/out/results.json and results.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/build.sh build
exec /usr/bin/python3 bench/run.py --bindir build/bench --out bench/out "$@"
