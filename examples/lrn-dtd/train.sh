#!/usr/bin/env bash
# Trains the LRN CNN of the LRN experiment (issue 12) with relprop on the full Fashion-MNIST.
# Usage: train.sh DATA_DIR OUT_DIR   (DATA_DIR: e.g. /usr/share/datasets/fashion-mnist from Debian's
# dataset-fashion-mnist). LRN constants: size 5, alpha 1 (b = alpha/size = 0.2), beta 0.75, bias 1,
# chosen so that the layers really normalise (with alpha = 1e-4, as in AlexNet, D ≈ 1 for activations
# of order 1 and LRN would be the identity).
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 DATA_DIR OUT_DIR" >&2; exit 2; fi
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$2"
npx --prefix "$here/../.." relprop train --spec "$here/lrn-cnn.spec.json" --data "$1" --val-split 0.05 \
  --test "$1" --epochs "${EPOCHS:-5}" --batch-size 64 --lr 1e-3 --schedule cosine --seed 0 --threads 2 \
  --out "$2/lrn-cnn.onnx" --checkpoint-dir "${CKPT:-/tmp/lrn-cnn-ckpt}" \
  --class-names "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
