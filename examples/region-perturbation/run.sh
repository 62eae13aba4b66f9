#!/usr/bin/env bash
# Regenerates the committed results of this folder: region perturbation (MoRF/LeRF, AOPC) of the
# bundled Fashion-MNIST CNN, LRP variants vs gradient baselines vs random.
#
#   bash examples/region-perturbation/run.sh [WORK]
#
# WORK: where the full outputs and the (large, resumable) progress files go; default
#       scratch/region-perturbation. Stop with Ctrl-C and run again to resume.
# PYTORCH_FULL=1 also reruns the secondary table: the earlier PyTorch-trained bundled model
#       (git 2e1f7d8) on the full 10,000-image test set (about 40 min on 2 busy cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-scratch/region-perturbation}
HERE=examples/region-perturbation
SMALL=../shared/datasets/fashion-mnist-small
METHODS=lrp:epsilon@epsilon=0.01,lrp:epsilon@epsilon=100,lrp:epsilon-plus-flat,lrp:epsilon-gamma-box,lrp:epsilon-alpha2-beta1,gradient,gradient-x-input,integrated-gradients,deconvnet,guided-backprop,random
KEEP=(table.md aopc.csv curves.csv results.json curves.svg curves.png heatmaps.png heatmaps-labelled.png)

keep() { # keep DIR FILES...: copy the small outputs of a run into this folder
  local name=$1; shift
  mkdir -p "$HERE/$name"
  for f in "$@"; do cp "$WORK/$name/$f" "$HERE/$name/"; done
}

npm run build >/dev/null

# Main comparison: the paper's protocol (uniform noise, L = 100 steps) on 2x2 regions, the bundled
# (relprop-trained) model, the stratified 1,000-image test subset.
node dist/src/node/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$SMALL" --out "$WORK/uniform-2x2" \
  --methods "$METHODS" --input-range 0,1 --region-size 2 --steps 100 --replacement uniform --seed 0 --threads 2
keep uniform-2x2 "${KEEP[@]}"

# Robustness checks on the first 500 images of the subset: the replacement function g (the
# paper's appendix compares perturbation functions by ABPC), and 1x1 regions (the paper's 9x9
# regions on 227x227 images are 4% of the width: about one pixel at 28x28).
for g in blur mean zero; do
  node dist/src/node/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$SMALL" --limit 500 --out "$WORK/$g-2x2" \
    --methods "$METHODS" --input-range 0,1 --region-size 2 --steps 100 --replacement "$g" --seed 0 --threads 2 --quiet --heatmap-samples 0
  keep "$g-2x2" table.md aopc.csv results.json curves.png
done
node dist/src/node/cli/main.js evaluate --model models/fmnist-cnn.onnx --data "$SMALL" --limit 500 --out "$WORK/uniform-1x1" \
  --methods "$METHODS" --input-range 0,1 --region-size 1 --steps 100 --replacement uniform --seed 0 --threads 2 --quiet --heatmap-samples 0
keep uniform-1x1 table.md aopc.csv results.json curves.png

if [ "${PYTORCH_FULL:-0}" = 1 ]; then
  FULL=/usr/share/datasets/fashion-mnist   # Debian package dataset-fashion-mnist
  mkdir -p "$WORK"
  git show 2e1f7d8:models/fmnist-cnn.onnx > "$WORK/fmnist-cnn-pytorch.onnx"
  node dist/src/node/cli/main.js evaluate --model "$WORK/fmnist-cnn-pytorch.onnx" --data "$FULL" --out "$WORK/pytorch-model-full-uniform-2x2" \
    --methods "$METHODS" --input-range 0,1 --region-size 2 --steps 100 --replacement uniform --seed 0 --threads 2
  keep pytorch-model-full-uniform-2x2 "${KEEP[@]}"
fi
