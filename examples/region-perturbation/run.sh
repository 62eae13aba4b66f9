#!/usr/bin/env bash
# Regenerates the committed results of this folder: region perturbation (MoRF/LeRF, AOPC) of the
# bundled Fashion-MNIST CNN, LRP variants vs gradient baselines vs random.
#
#   bash examples/region-perturbation/run.sh [DATA] [WORK]
#
# DATA: the full Fashion-MNIST test set (Debian package dataset-fashion-mnist) when present,
#       else the 1,000-image subset in ../shared/datasets/fashion-mnist-small.
# WORK: where the full outputs and the (large, resumable) progress file go; default
#       scratch/region-perturbation. Stop with Ctrl-C and run again to resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-}
if [ -z "$DATA" ]; then
  if [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then DATA=/usr/share/datasets/fashion-mnist; else DATA=../shared/datasets/fashion-mnist-small; fi
fi
WORK=${2:-scratch/region-perturbation}
HERE=examples/region-perturbation
METHODS=lrp:epsilon@epsilon=0.01,lrp:epsilon@epsilon=100,lrp:epsilon-plus-flat,lrp:epsilon-gamma-box,lrp:epsilon-alpha2-beta1,gradient,gradient-x-input,integrated-gradients,deconvnet,guided-backprop,random

npm run build >/dev/null
# Main comparison: the paper's protocol (uniform noise, L = 100 steps) on 2x2 regions.
node dist/src/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$DATA" --out "$WORK/uniform-2x2" \
  --methods "$METHODS" --input-range 0,1 --region-size 2 --steps 100 --replacement uniform --seed 0 --threads 2
mkdir -p "$HERE/uniform-2x2"
KEEP=(table.md aopc.csv curves.csv results.json curves.svg curves.png heatmaps.png heatmaps-labelled.png)
for f in "${KEEP[@]}"; do cp "$WORK/uniform-2x2/$f" "$HERE/uniform-2x2/"; done

# Robustness checks on the 1,000-image subset: the replacement function g (the paper's appendix
# compares perturbation functions by ABPC), and 1x1 regions (the paper's 9x9 regions on 227x227
# images are 4% of the width, about one pixel at 28x28).
SMALL=../shared/datasets/fashion-mnist-small
for g in uniform blur mean zero; do
  node dist/src/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$SMALL" --out "$WORK/small-$g-2x2" \
    --methods "$METHODS" --input-range 0,1 --region-size 2 --steps 100 --replacement "$g" --seed 0 --threads 2 --quiet --heatmap-samples 0
  mkdir -p "$HERE/small-$g-2x2"
  for f in table.md aopc.csv results.json curves.png; do cp "$WORK/small-$g-2x2/$f" "$HERE/small-$g-2x2/"; done
done
node dist/src/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$SMALL" --out "$WORK/small-uniform-1x1" \
  --methods "$METHODS" --input-range 0,1 --region-size 1 --steps 100 --replacement uniform --seed 0 --threads 2 --quiet --heatmap-samples 0
mkdir -p "$HERE/small-uniform-1x1"
for f in table.md aopc.csv results.json curves.png; do cp "$WORK/small-uniform-1x1/$f" "$HERE/small-uniform-1x1/"; done
