#!/bin/sh
# Centered vs uncentered DBM 784-400-100 on Fashion-MNIST binarised at 0.5 (arXiv 1203.3783,
# digest §5.7): training with the reference hyperparameters, AIS log-likelihood of the test set
# (with the second layer, without it, and held at its mean activation), samples and filters,
# check b and kernel analysis. Then: node examples/boltzmann/fmnist-summary.mjs OUT_DIR.
# Usage, from the repository root after `npx tsc -p tsconfig.json` (or `npm run build`):
#   sh examples/boltzmann/run-fmnist.sh FASHION_MNIST_DIR WORK_DIR [OUT_DIR] [MODEL]
# FASHION_MNIST_DIR: /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
# WORK_DIR keeps the models and checkpoints (a stopped run resumes from its checkpoint).
# MODEL: centered or uncentered (default: both, one after the other).
set -eu
data="$1"
work="$2"
out="${3:-$(dirname "$0")/results-fmnist}"
mkdir -p "$work" "$out"
cli="node dist/src/node/cli/main.js"
for m in ${4:-centered uncentered}; do
  flag=""
  [ "$m" = uncentered ] && flag="--uncentered"
  if [ ! -f "$work/fmnist-$m.onnx" ]; then
    resume=""
    [ -f "$work/ckpt-$m/dbm-checkpoint.json" ] && resume="--resume"
    # 42 epochs of 2,400 updates = 100,800 updates (the reference code: 100,000).
    $cli dbm train --data "$data" --hidden 400,100 --positive sample --lr 0.005 --nu 0.005 --batch-size 25 \
      --epochs 42 --seed 1 --threads 1 $flag --checkpoint-dir "$work/ckpt-$m" $resume --out "$work/fmnist-$m.onnx" > "$work/train-$m.log"
  fi
  $cli sample --model "$work/fmnist-$m.onnx" --out "$out/samples-$m.png" --samples 100 --sweeps 1000 --seed 1 \
    --filters "$out/filters-$m.png" --filter-count 100 --threads 1
  $cli sample --model "$work/fmnist-$m.onnx" --out "$out/chains-$m.png" --samples 10 --snapshots 10 --sweeps 100 --seed 2 --means --threads 1
  node "$(dirname "$0")/fmnist-analyse.mjs" "$work/fmnist-$m.onnx" "$data" "$out/analysis-$m.json" 2> "$out/analysis-$m.log"
  $cli likelihood --model "$work/fmnist-$m.onnx" --data "$data" --estimator ais --chains 100 --temperatures 20000 --seed 1 --threads 1 --json > "$out/loglik-$m.json"
  $cli likelihood --model "$work/fmnist-$m-no-layer2.onnx" --data "$data" --estimator ais --chains 100 --temperatures 20000 --seed 1 --threads 1 --json > "$out/loglik-$m-no-layer2.json"
  node "$(dirname "$0")/fmnist-clamp.mjs" "$work/fmnist-$m.onnx" "$data"
  $cli likelihood --model "$work/fmnist-$m-layer2-at-mean.onnx" --data "$data" --estimator ais --chains 100 --temperatures 20000 --seed 1 --threads 1 --json > "$out/loglik-$m-layer2-at-mean.json"
done
