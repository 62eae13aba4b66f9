#!/usr/bin/env bash
# Trains an LRN CNN of the LRN experiment (issue 12) with relprop on the full Fashion-MNIST.
# Usage: train.sh DATA_DIR OUT_DIR [NAME]   (DATA_DIR: e.g. /usr/share/datasets/fashion-mnist from
# Debian's dataset-fashion-mnist; NAME: lrn-cnn (default) or lrn-cnn-bias0.1, the spec
# NAME.spec.json beside this script, written to OUT_DIR/NAME.onnx).
# lrn-cnn: size 5, alpha 1 (b = alpha/size = 0.2), beta 0.75, bias 1, chosen so that the layers
# normalise activations of order 1 (with alpha = 1e-4, as in AlexNet, D ≈ 1 and LRN is close to
# the identity). lrn-cnn-bias0.1: the same with bias 0.1, so that the normaliser is dominated by
# the window sum at smaller activations too.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 DATA_DIR OUT_DIR [NAME]" >&2; exit 2; fi
here="$(cd "$(dirname "$0")" && pwd)"
name="${3:-lrn-cnn}"
mkdir -p "$2"
relprop() { node "${RELPROP_CLI:-$here/../../dist/src/node/cli/main.js}" "$@"; }
relprop train --spec "$here/$name.spec.json" --data "$1" --val-split 0.05 \
  --test "$1" --epochs "${EPOCHS:-5}" --batch-size 64 --lr 1e-3 --schedule cosine --seed 0 --threads 2 \
  --out "$2/$name.onnx" --checkpoint-dir "${CKPT:-/tmp/$name-ckpt}" \
  --class-names "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
