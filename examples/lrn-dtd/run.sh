#!/usr/bin/env bash
# Region perturbation of the LRN CNN: identity vs Taylor treatment of its LRN layers, for the
# ε-rule (ε ∈ {0.01, 0.1, 1, 10}) and the αβ-rule (β ∈ {0, 1}) on every conv/dense layer.
# The Taylor runs use the LRN variant matching the rule (ε-variant with the same ε, β-variant with
# the same β). Every run uses the same images, seed and uniform noise, so their curves compare.
# Usage: run.sh DATA_DIR OUT_DIR [N] [MODEL]   (DATA_DIR: Fashion-MNIST IDX folder; N test images,
# default 1000; MODEL default lrn-cnn.onnx beside this script)
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 DATA_DIR OUT_DIR [N] [MODEL]" >&2; exit 2; fi
here="$(cd "$(dirname "$0")" && pwd)"
data="$1"; out="$2"; n="${3:-1000}"; model="${4:-$here/lrn-cnn.onnx}"
relprop() { node "${RELPROP_CLI:-$here/../../dist/src/node/cli/main.js}" "$@"; }
common=(--model "$model" --data "$data" --limit "$n" --seed 0 --threads 1 --quiet)
jobs=(
  "identity|--lrn identity|lrp:epsilon@epsilon=0.01,lrp:epsilon@epsilon=0.1,lrp:epsilon@epsilon=1,lrp:epsilon@epsilon=10,lrp:alphabeta@beta=0,lrp:alphabeta@beta=1,random"
  "taylor-eps-0.01|--lrn taylor --lrn-epsilon 0.01|lrp:epsilon@epsilon=0.01"
  "taylor-eps-0.1|--lrn taylor --lrn-epsilon 0.1|lrp:epsilon@epsilon=0.1"
  "taylor-eps-1|--lrn taylor --lrn-epsilon 1|lrp:epsilon@epsilon=1"
  "taylor-eps-10|--lrn taylor --lrn-epsilon 10|lrp:epsilon@epsilon=10"
  "taylor-beta-0|--lrn taylor --lrn-beta 0|lrp:alphabeta@beta=0"
  "taylor-beta-1|--lrn taylor --lrn-beta 1|lrp:alphabeta@beta=1"
)
mkdir -p "$out"
for j in "${jobs[@]}"; do
  IFS='|' read -r name lrn methods <<<"$j"
  [ -f "$out/$name/results.json" ] && continue # finished earlier: resume where it stopped
  # shellcheck disable=SC2086
  relprop evaluate "${common[@]}" $lrn --methods "$methods" --out "$out/$name" &
  # two at a time (one thread each)
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 5; done
done
wait
node "$here/table.mjs" "$out" > "$out/table.md"
echo "wrote $out/table.md"
