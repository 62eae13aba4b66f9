#!/bin/sh
# Regenerate examples/fisher/results: canvases, the FV model, the CNN, the experiment.
# Usage: sh examples/fisher/run.sh [FASHION_MNIST_DIR] [WORK_DIR]   (after npm run build)
set -eu
DATA=${1:-/usr/share/datasets/fashion-mnist}
WORK=${2:-/tmp/relprop-fisher}
HERE=$(dirname "$0")
RELPROP="node $HERE/../../dist/src/node/cli/main.js"
mkdir -p "$WORK/models"
$RELPROP fv canvas --data "$DATA" --out "$WORK/canvas" --train 10000 --test 1000 --stamp-class 6 --seed 0 --quiet
$RELPROP fv train --data "$WORK/canvas/train" --test "$WORK/canvas/test-matched" --threads 1 --seed 0 \
  --components 32 --svm-lambda 1e-3 --svm-iterations 1500 \
  --class-names tshirt_top,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,ankle_boot --out "$WORK/models/fv.onnx"
$RELPROP train --spec "$HERE/cnn.spec.json" --data "$WORK/canvas/train" --test "$WORK/canvas/test-matched" \
  --epochs 12 --batch-size 64 --lr 1e-3 --schedule cosine --threads 1 --seed 0 --out "$WORK/models/cnn.onnx"
cp "$WORK/models/fv.json" "$WORK/models/cnn.json" "$HERE/results/"
node "$HERE/experiment.mjs" "$WORK/canvas" "$WORK/models" "$HERE/results" 6
