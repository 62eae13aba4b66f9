#!/bin/sh
# Train the text CNN with relprop itself (no Python): vocabulary, token ids, word vectors, training.
# Run from anywhere after `npm install`; ~5 min on 2 cores.
set -eu
cd "$(dirname "$0")/../../.."
D=../shared/datasets/debian-descriptions
OUT=examples/text/relprop
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R="node dist/src/cli/main.js"
$R text-vocab --data $D/train.jsonl --out $OUT/textcnn.vocab.json --min-count 2
$R text-encode --vocab $OUT/textcnn.vocab.json --data $D/train.jsonl --out "$W/train.ids.jsonl"
$R text-encode --vocab $OUT/textcnn.vocab.json --data $D/test.jsonl --out "$W/test.ids.jsonl"
V=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$OUT/textcnn.vocab.json','utf8')).tokens.length)")
$R word-vectors --data "$W/train.ids.jsonl" --vocab-size "$V" --dim 128 --out "$W/vectors128.npy"
$R train --spec $OUT/textcnn-spec.json --data "$W/train.ids.jsonl" --val "$W/test.ids.jsonl" --max-length 512 \
  --epochs 20 --batch-size 32 --lr 2e-3 --weight-decay 1e-2 --schedule cosine --seed 0 --threads 2 \
  --init-param "embedding_0.weight=$W/vectors128.npy" --out $OUT/textcnn.onnx | tee "$W/train.log"
$R test $OUT/textcnn.onnx --data "$W/test.ids.jsonl"
