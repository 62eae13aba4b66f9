#!/bin/sh
# Rebuild the PyTorch STAND-IN text CNN (to be replaced by a relprop-trained model).
# Run from anywhere; needs `npm run build` and Debian's /usr/bin/python3 with torch.
set -eu
cd "$(dirname "$0")/../../.."
D=../shared/datasets/debian-descriptions
OUT=examples/text/standin
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
node dist/src/node/cli/main.js text-vocab --data $D/train.jsonl --out $OUT/textcnn.vocab.json --min-count 2
node dist/src/node/cli/main.js text-encode --vocab $OUT/textcnn.vocab.json --data $D/train.jsonl --out "$W/train.ids.jsonl"
node dist/src/node/cli/main.js text-encode --vocab $OUT/textcnn.vocab.json --data $D/test.jsonl --out "$W/test.ids.jsonl"
/usr/bin/python3 scripts/train_text_standin.py "$W/train.ids.jsonl" "$W/test.ids.jsonl" $OUT/textcnn.vocab.json $OUT | tee $OUT/train.log
