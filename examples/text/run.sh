#!/bin/sh
# Regenerate every committed text result under examples/text/results from a text model
# (default: the PyTorch stand-in in examples/text/standin; set MODEL=path/to/model.onnx with its
# model.vocab.json beside it to use another one, e.g. the relprop-trained model).
set -eu
cd "$(dirname "$0")/../.."
npm run build >/dev/null
M=${MODEL:-examples/text/standin/textcnn.onnx}
D=../shared/datasets/debian-descriptions
OUT=${OUT:-examples/text/results}
mkdir -p "$OUT"
R="node dist/src/node/cli/main.js"

# Word deletion (LRP-ε as in the paper, SA, gradient × input, LRP z+ on the conv, random ×10),
# document-vector PCA, top words per class, example pages.
$R text-experiments --model "$M" --data $D/test.jsonl --out "$OUT" --max-deletions 50 --random-runs 10 --seed 1 --threads 2

# Two single-text explanations (LRP and SA) of a made-up description.
TEXT="A fast-paced arcade game: fly your spaceship through 12 levels and destroy the alien invaders. Supports joysticks and network multiplayer."
$R explain-text --model "$M" --html "$OUT/explain-text-lrp.html" --json "$OUT/explain-text-lrp.json" "$TEXT" > "$OUT/explain-text-lrp.txt"
$R explain-text --model "$M" --method sa --html "$OUT/explain-text-sa.html" "$TEXT" > "$OUT/explain-text-sa.txt"

# Throughput and explainer/forward time ratio (1 thread).
node dist/bench/text.js --model "$M" --threads 1 > "$OUT/bench.txt"
