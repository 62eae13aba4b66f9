#!/bin/sh
# Regenerate examples/transfer/results: faces, the two base CNNs, the transfer experiment, and a
# localisation run through the CLI. Usage: sh examples/transfer/run.sh [WORK_DIR]  (after npm run build)
# Scale by environment: BASE (20000 base images), EPOCHS (20 per head), FOLDS (5), BASE_EPOCHS (12).
set -eu
WORK=${1:-/tmp/relprop-transfer}
HERE=$(cd "$(dirname "$0")" && pwd)
RELPROP="node $HERE/../../dist/src/node/cli/main.js"
OUT="$HERE/results"
rm -rf "$WORK/faces"
mkdir -p "$WORK/models" "$OUT"
$RELPROP faces generate --out "$WORK/faces" --size 32 --base "${BASE:-20000}" --attributes 2222 --kdef 35 --seed 0
for t in age gender; do
  $RELPROP train --spec "$HERE/base-$t.spec.json" --data "$WORK/faces/base/images.npy" --labels "$WORK/faces/base/$t.npy" \
    --val-split 0.1 --epochs "${BASE_EPOCHS:-12}" --schedule cosine --threads 1 --seed 0 --out "$WORK/models/base-$t.onnx" --quiet
  cp "$WORK/models/base-$t.json" "$OUT/"
done
# The user's workflow on one attribute, through the CLI: dense-only transfer from the age base,
# then the relevance share inside the mouth boxes.
$RELPROP train --spec "$HERE/head.spec.json" --init "$WORK/models/base-age.onnx" --freeze conv2d_0,conv2d_1,conv2d_2 \
  --data "$WORK/faces/attributes/images.npy" --labels "$WORK/faces/attributes/happiness.npy" --loss mse \
  --epochs 20 --batch-size 32 --val-split 0.2 --threads 1 --seed 0 --out "$WORK/models/happiness-age-dense.onnx" --quiet
cp "$WORK/models/happiness-age-dense.json" "$OUT/"
rm -rf "$WORK/localisation"
$RELPROP evaluate-localisation --model "$WORK/models/happiness-age-dense.onnx" --data "$WORK/faces/attributes/images.npy" \
  --boxes "$WORK/faces/attributes/boxes-mouth.jsonl" --methods lrp:epsilon-gamma-box,gradient-x-input --input-range 0,1 \
  --target 0 --threads 1 --out "$WORK/localisation" --quiet
cp "$WORK/localisation/table.md" "$OUT/localisation-cli-happiness-age-dense.md"
THREADS=1 FOLDS="${FOLDS:-5}" EPOCHS="${EPOCHS:-20}" node "$HERE/experiment.mjs" "$WORK/faces" "$WORK/models" "$OUT"
# Few labels: the same on the first 400 attribute images (320 training images per fold).
THREADS=1 FOLDS="${FOLDS:-5}" EPOCHS="${EPOCHS:-20}" LIMIT=400 node "$HERE/experiment.mjs" "$WORK/faces" "$WORK/models" "$OUT/n400"
