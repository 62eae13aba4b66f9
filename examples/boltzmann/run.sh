#!/bin/sh
# Regenerates examples/boltzmann/results/ (centered vs uncentered DBM 64-16-8 on the binarised 8×8
# digits, exact log-likelihood curves) and prints the AIS-vs-exact table of bench/dbm-ais.ts.
# Usage, from the repository root after `npx tsc -p tsconfig.json` (or `npm run build`):
#   sh examples/boltzmann/run.sh DIGITS_CSV [OUT_DIR]
# DIGITS_CSV: ../shared/datasets/digits/digits.csv in this project (scikit-learn's digits.csv.gz, gunzipped).
set -eu
out="${2:-$(dirname "$0")/results}"
mkdir -p "$out"
node "$(dirname "$0")/experiment.mjs" "$1" "$out" --epochs 1750 --every 50 --seeds 1,2 --positive meanfield,sample > "$out.log"
node "$(dirname "$0")/summary.mjs" "$out" 1300
# The same at ten times the learning rate, 500 epochs (28,500 updates).
node "$(dirname "$0")/experiment.mjs" "$1" "$out-lr0.05" --epochs 500 --every 25 --seeds 1,2 --positive meanfield,sample --lr 0.05 > "$out-lr0.05.log"
node "$(dirname "$0")/summary.mjs" "$out-lr0.05" 300
node dist/bench/dbm-ais.js --runs 100 --chains 100 --temperatures 1000 --digits "$1" --epochs 200 | tee "$out/ais.md"
node dist/bench/dbm-ais.js --runs 100 --chains 100 --temperatures 5000 --digits "$1" --epochs 200 --digits-only | tee "$out/ais-5000.md"
node "$(dirname "$0")/fisher.mjs" "$1" "$out/fisher.md"
