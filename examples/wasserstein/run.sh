#!/bin/sh
# Regenerates examples/wasserstein/results/: KL- vs Wasserstein-trained RBMs 64-16 on the
# binarised "0" digits (exact likelihood, held-out W, diversity, completion and denoising
# curves, sample grids, the KL-regulariser ablation), the Gaussian shrinkage toy, and the
# Sinkhorn benchmark against POT.
# Usage, from the repository root after `npm run build` (or `npx tsc -p tsconfig.json`):
#   sh examples/wasserstein/run.sh DIGITS_CSV [OUT_DIR [DEBIAN_DIR FASHION_DIR]]
# DIGITS_CSV: ../shared/datasets/digits/digits.csv in this project (scikit-learn's digits.csv.gz, gunzipped).
set -eu
here="$(dirname "$0")"
out="${2:-$here/results}"
mkdir -p "$out"
node "$here/experiment.mjs" "$1" "$out" --seeds 1,2 --models kl,w,w-eta0,w-eta1,w-ent --updates 3000 > "$out.log"
node "$here/summary.mjs" "$out"
node "$here/shrinkage.mjs" "$out/shrinkage.md" --seeds 5
node dist/bench/sinkhorn.js --sizes 1000,5000 --iters 20 --rounds 2 --threads 1 | tee "$out/sinkhorn-bench.md"
# The PLANTS analogue (64 words of the Debian package descriptions) and the MNIST-code analogue
# (28-bit PCA-sign codes of Fashion-MNIST): DEBIAN_DIR and FASHION_DIR as the 3rd and 4th arguments.
if [ "$#" -ge 4 ]; then
  node "$here/experiment.mjs" "$3" "$out-debian" --dataset debian --seeds 1,2 --models kl,w,w-eta0 --updates 3000 > "$out-debian.log"
  node "$here/summary.mjs" "$out-debian" 'Debian descriptions, 64 words, RBM 64-16'
  node "$here/experiment.mjs" "$4" "$out-fashion-codes" --dataset fashion-codes --seeds 1,2 --models kl,w,w-eta0 --updates 3000 > "$out-fashion-codes.log"
  node "$here/summary.mjs" "$out-fashion-codes" 'Fashion-MNIST 28-bit PCA codes, RBM 28-16'
fi
