#!/bin/sh
# The molecules ("quantum machine") experiments of examples/molecules/README.md, step by step.
# Usage: examples/molecules/run.sh [STEP ...]   (no step: all of them; run from the repository root
# after `npm run build`). Every run uses the fixed split: 5 stratified folds, seed 0, fold 0 held out.
set -eu
DATA=${DATA:-../shared/datasets/molecules}
OUT=examples/molecules/results
RELPROP="node dist/src/node/cli/main.js"
AE=gfn2.atomization_energy_kcal_mol
PBE0=pbe0_631g.atomization_energy_kcal_mol

baselines() { # mean predictor and KRR (Gaussian/Laplacian on sorted matrices and eigenspectra), 18 targets
  $RELPROP molecules baselines "$DATA" --out $OUT/baselines.json > $OUT/baselines.txt
}
multitask() { # the multi-task network, 400-100, all 18 targets, 100 epochs (model not committed: 5.4 MB)
  $RELPROP molecules train "$DATA" --epochs 100 --threads 1 --out $OUT/multitask-400-100.json --model /tmp/qm-400-100.onnx > $OUT/multitask-400-100.txt
}
small() { # the committed example model: 50-25 hidden units, all 18 targets
  $RELPROP molecules train "$DATA" --hidden 50,25 --epochs 100 --threads 1 --out $OUT/multitask-50-25.json --model examples/molecules/model/qm-50-25.onnx > $OUT/multitask-50-25.txt
}
single_ae() { # single-task network on the semi-empirical atomization energy (random matrices)
  $RELPROP molecules train "$DATA" --targets $AE --epochs 100 --threads 1 --out $OUT/single-ae.json > $OUT/single-ae.txt
}
sorted_ae() { # the same on the sorted matrix (no noise): the 2012 comparison of representations
  $RELPROP molecules train "$DATA" --targets $AE --noise 0 --epochs 100 --threads 1 --out $OUT/single-ae-sorted.json > $OUT/single-ae-sorted.txt
}
single_pbe0() { # single-task network on the PBE0 atomization energy (present for 1,350 molecules only)
  $RELPROP molecules train "$DATA" --targets $PBE0 --epochs 100 --threads 1 --out $OUT/single-pbe0.json > $OUT/single-pbe0.txt
}
curve() { # learning curve of the multi-task network: the first n training molecules of the split
  for n in 500 1000 2000; do
    $RELPROP molecules train "$DATA" --max-train $n --epochs 100 --threads 1 --out $OUT/curve-$n.json > $OUT/curve-$n.txt
  done
}
krr_curve() { # learning curve of KRR, Laplacian kernel on sorted matrices (n = molecules of the final fit)
  for n in 500 1000; do
    $RELPROP molecules baselines "$DATA" --kernels laplacian --representations sorted --krr-max-train $n --out $OUT/krr-curve-$n.json > $OUT/krr-curve-$n.txt
  done
}
figures() { # per-atom relevance pictures from the committed model (PNG for the HOMO only: size)
  for p in gfn2.atomization_energy_kcal_mol gfn2.homo_eV gfn2.dipole_debye; do
    png=--no-png; [ $p = gfn2.homo_eV ] && png=
    $RELPROP molecules explain examples/molecules/model/qm-50-25.onnx examples/molecules/molecules.xyz --property $p $png --threads 1 --out examples/molecules/figures/$p > examples/molecules/figures/$p.txt
  done
}

for step in ${@:-baselines multitask small single_ae sorted_ae single_pbe0 curve krr_curve figures}; do
  echo "== $step" >&2
  $step
done
