#!/bin/sh
# Train the text CNN with relprop itself (no Python): vocabulary, token ids, word vectors, training,
# and one final score on the test split. The configuration (textcnn-spec.json and the flags below)
# was chosen by 5-fold cross-validation on the training split alone (cross-validate.mjs; results in
# results/cross-validation.tsv); the test split is read only by --test at the end.
# Run from anywhere after `npm install && npm run build`; about 2 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/../../.."
D=../shared/datasets/debian-descriptions
OUT=examples/text/relprop
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R="node dist/src/node/cli/main.js"
$R text-vocab --data $D/train.jsonl --out $OUT/textcnn.vocab.json --min-count 2
$R text-encode --vocab $OUT/textcnn.vocab.json --data $D/train.jsonl --out "$W/train.ids.jsonl"
$R text-encode --vocab $OUT/textcnn.vocab.json --data $D/test.jsonl --out "$W/test.ids.jsonl"
V=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$OUT/textcnn.vocab.json','utf8')).tokens.length)")
$R word-vectors --data "$W/train.ids.jsonl" --vocab-size "$V" --dim 128 --out "$W/vectors128.npy"
# To redo the selection: node $OUT/cross-validate.mjs NAME SPEC.json "$W/train.ids.jsonl" "$W/vectors128.npy" [flags…]
$R train --spec $OUT/textcnn-spec.json --data "$W/train.ids.jsonl" --test "$W/test.ids.jsonl" --max-length 512 \
  --epochs 20 --batch-size 32 --lr 2e-3 --weight-decay 1e-2 --schedule cosine --seed 0 --threads 2 \
  --init-param "embedding_0.weight=$W/vectors128.npy" --out $OUT/textcnn.onnx | tee "$W/train.log"
# The card names the temporary work folder: say what the files were instead.
node -e "const f='$OUT/textcnn.json',fs=require('fs');fs.writeFileSync(f,fs.readFileSync(f,'utf8').split('$W/').join('<make.sh work dir>/'))"
$R test $OUT/textcnn.onnx --data "$W/test.ids.jsonl" | tee $OUT/results/test.txt
