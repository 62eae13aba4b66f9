#!/bin/sh
# Train the text CNN with relprop itself (no Python): vocabulary, token ids, word vectors, training,
# and one final score on the test split. The configuration (textcnn-spec.json and the flags below)
# was chosen by 5-fold cross-validation on the training split alone (cross-validate.mjs; results in
# results/cross-validation.tsv); the test split is read only by --test at the end.
#
#   sh examples/text/relprop/make.sh DATA_DIR OUT_DIR
#
# DATA_DIR holds train.jsonl and test.jsonl (the debian-descriptions data set); OUT_DIR receives
# textcnn.vocab.json, textcnn.onnx, its card textcnn.json and results/test.txt. Nothing else is
# written: to replace the committed files, give examples/text/relprop as OUT_DIR.
# Run from anywhere after `npm install && npm run build`; about 2 minutes on 2 cores.
set -eu
usage="usage: sh examples/text/relprop/make.sh DATA_DIR OUT_DIR (DATA_DIR: train.jsonl and test.jsonl of debian-descriptions)"
if [ $# -ne 2 ]; then
  echo "$usage" >&2
  exit 2
fi
for f in train.jsonl test.jsonl; do
  if [ ! -f "$1/$f" ]; then
    echo "make.sh: error: $1/$f not found" >&2
    echo "$usage" >&2
    exit 2
  fi
done
# Absolute paths, since the commands below run from the repository root.
D=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../../.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R="node dist/src/node/cli/main.js"
$R text-vocab --data "$D/train.jsonl" --out "$W/textcnn.vocab.json" --min-count 2
$R text-encode --vocab "$W/textcnn.vocab.json" --data "$D/train.jsonl" --out "$W/train.ids.jsonl"
$R text-encode --vocab "$W/textcnn.vocab.json" --data "$D/test.jsonl" --out "$W/test.ids.jsonl"
V=$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')).tokens.length)" "$W/textcnn.vocab.json")
$R word-vectors --data "$W/train.ids.jsonl" --vocab-size "$V" --dim 128 --out "$W/vectors128.npy"
# To redo the selection: node examples/text/relprop/cross-validate.mjs NAME SPEC.json "$W/train.ids.jsonl" "$W/vectors128.npy" [flags…]
$R train --spec "$HERE/textcnn-spec.json" --data "$W/train.ids.jsonl" --test "$W/test.ids.jsonl" --max-length 512 \
  --epochs 20 --batch-size 32 --lr 2e-3 --weight-decay 1e-2 --schedule cosine --seed 0 --threads 2 \
  --init-param "embedding_0.weight=$W/vectors128.npy" --out "$W/textcnn.onnx"
# The card and the vocabulary name the temporary work folder and this machine's paths: say what
# they were instead.
for f in textcnn.json textcnn.vocab.json; do
  node -e "
const fs = require('fs');
const [file, work, data, here] = process.argv.slice(1);
const text = fs.readFileSync(file, 'utf8').split(work + '/').join('<make.sh work dir>/').split(data + '/').join('<DATA_DIR>/').split(here + '/').join('examples/text/relprop/');
fs.writeFileSync(file, text);
" "$W/$f" "$W" "$D" "$HERE"
done
$R test "$W/textcnn.onnx" --data "$W/test.ids.jsonl" > "$W/test.txt"
# Into OUT_DIR only once everything has worked.
mkdir -p "$OUT/results"
mv "$W/textcnn.vocab.json" "$OUT/textcnn.vocab.json"
mv "$W/textcnn.onnx" "$OUT/textcnn.onnx"
mv "$W/textcnn.json" "$OUT/textcnn.json"
mv "$W/test.txt" "$OUT/results/test.txt"
cat "$OUT/results/test.txt"
