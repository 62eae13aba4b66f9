#!/bin/sh
# Regenerates examples/wasserstein/results/: KL- vs Wasserstein-trained RBMs 64-16 on the
# binarised "0" digits (exact likelihood, held-out W, diversity, completion and denoising
# curves, sample grids, the KL-regulariser ablation), the Gaussian shrinkage toy, and the
# Sinkhorn benchmark against POT.
# Usage, from the repository root after `npm run build` (or `npx tsc -p tsconfig.json`):
#   sh examples/wasserstein/run.sh DIGITS_CSV [OUT_DIR]
# DIGITS_CSV: ../shared/datasets/digits/digits.csv in this project (scikit-learn's digits.csv.gz, gunzipped).
set -eu
here="$(dirname "$0")"
out="${2:-$here/results}"
mkdir -p "$out"
node "$here/experiment.mjs" "$1" "$out" --seeds 1,2 --models kl,w,w-eta0,w-eta1,w-ent --updates 3000 > "$out.log"
node "$here/summary.mjs" "$out"
node "$here/shrinkage.mjs" "$out/shrinkage.md" --seeds 5
node dist/bench/sinkhorn.js --sizes 1000,5000 --iters 20 --rounds 2 --threads 1 | tee "$out/sinkhorn-bench.md"
