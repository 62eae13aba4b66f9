#!/bin/sh
# Regenerates examples/dtd/results/ from the scikit-learn digits CSV (../shared/datasets/digits/digits.csv
# in this project; Debian's python3-sklearn ships it as sklearn/datasets/data/digits.csv.gz, gunzipped).
# Usage, from the repository root after `npm run build`: sh examples/dtd/run.sh DIGITS_CSV [OUT_DIR]
set -eu
node "$(dirname "$0")/experiment.mjs" "$1" "${2:-$(dirname "$0")/results}"
