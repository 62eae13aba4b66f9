#!/usr/bin/python3
"""NumPy reference for bench/dbm-speed.ts: the same centered DBM update as the ONNX graph
(mean-field positive phase, persistent Gibbs chains, centered gradient, offset move with bias
shift) and the same block Gibbs sweep as relprop sample, float32, on random binary data, written
with the graphs' arithmetic savings so that the peer is not a strawman:
- training: the batch and the chains multiply by W0 in one product of their stacked rows, and
  layer 1 by W0ᵀ likewise (the positive phase's last layer 1 and the chains'); the gradient of each
  weight matrix is one product over the stacked data and chain rows, ±lr/rows folded into the small
  operand, added into W in place; sigmoids and samples in place, uniforms drawn into a buffer;
- sampling: the layers of each parity side by side, one block matrix M ([W0; W1ᵀ] for two hidden
  layers) and biases with the offsets folded in, built once per block of sweeps, so a sweep is two
  products, two sigmoids and two comparisons.
The ONNX graph also computes a reconstruction error per update; this side does not.
Threads are set by the caller (OPENBLAS_NUM_THREADS etc.).

Usage: dbm_numpy.py SIZES(e.g. 784,400,100) BATCH UPDATES POSITIVE_ROUNDS
       dbm_numpy.py SIZES CHAINS SWEEPS gibbs   (block Gibbs sweeps of CHAINS chains, as relprop sample)
Prints one JSON line: {"updates_per_s": …, "cpu_updates_per_s": …} (per second of wall and of process CPU time).
"""
import json
import sys
import time

import numpy as np

sizes = [int(s) for s in sys.argv[1].split(",")]
B = int(sys.argv[2])
updates = int(sys.argv[3])
GIBBS = sys.argv[4] == "gibbs"
P = 0 if GIBBS else int(sys.argv[4])
L = len(sizes) - 1
rng = np.random.default_rng(0)
f32 = np.float32
data = (rng.random((1000, sizes[0])) < 0.13).astype(f32)
W = [(0.01 * rng.standard_normal((sizes[l], sizes[l + 1]))).astype(f32) for l in range(L)]
b = [np.full(n, -1, f32) for n in sizes]
o = [np.full(n, 0.27, f32) for n in sizes]
o[0] = data.mean(0).astype(f32)
chains = [np.tile(o[l], (B, 1)) for l in range(L + 1)]
lr, nu = f32(0.005), f32(0.005)
odd = list(range(1, L + 1, 2))
even = list(range(0, L + 1, 2))


def sig_(t):
    """σ(t) in place."""
    np.negative(t, out=t)
    np.exp(t, out=t)
    t += 1
    np.reciprocal(t, out=t)
    return t


def bernoulli_(p):
    """A 0/1 float32 sample of p, written over p."""
    u = rng.random(p.shape, dtype=f32)
    np.less(u, p, out=p, casting="unsafe")
    return p


def pre(l, cs, from_below=None):
    """Input to layer l from its neighbours' centered states (None: the neighbour sits at its offset)."""
    if from_below is not None:
        t = from_below + b[l]
    elif l > 0 and cs[l - 1] is not None:
        t = cs[l - 1] @ W[l - 1]
        t += b[l]
    else:
        t = None
    if t is None and (l == L or cs[l + 1] is None):
        return np.tile(b[l], (B, 1))  # no neighbour away from its offset yet
    if l < L and cs[l + 1] is not None:
        above = cs[l + 1] @ W[l].T
        if t is None:
            above += b[l]
            t = above
        else:
            t += above
    return t


def update(x):
    global chains
    cd = [x - o[0]] + [None] * L
    cm = [chains[l] - o[l] for l in range(L + 1)]
    xd = [x] + [None] * L
    xm = list(chains)
    # The visible layers of the batch and of the chains times W0, one product.
    both = np.concatenate([cd[0], cm[0]]) @ W[0]
    vis_d, vis_m = both[:B], both[B:]
    for _ in range(P):
        for l in odd:
            xd[l] = sig_(pre(l, cd, vis_d if l == 1 else None))
            cd[l] = xd[l] - o[l]
        for l in even[1:]:
            xd[l] = sig_(pre(l, cd))
            cd[l] = xd[l] - o[l]
    for l in odd:
        xm[l] = bernoulli_(sig_(pre(l, cm, vis_m if l == 1 else None)))
        cm[l] = xm[l] - o[l]
    for l in even:
        if l == 0:
            xm[0] = bernoulli_(sig_(cm[1] @ W[0].T + b[0]))
        else:
            xm[l] = bernoulli_(sig_(pre(l, cm)))
        cm[l] = xm[l] - o[l]
    md = [xd[l].mean(0) for l in range(L + 1)]
    for l in range(L):
        left = np.concatenate([cd[l] * (lr / B), cm[l] * (-lr / B)])
        W[l] += left.T @ np.concatenate([cd[l + 1], cm[l + 1]])
    for l in range(L + 1):
        b[l] += lr * (md[l] - xm[l].mean(0))
    delta = [None] + [nu * (md[l] - o[l]) for l in range(1, L + 1)]
    for l in range(L + 1):
        if l < L:
            b[l] += W[l] @ delta[l + 1]
        if l > 1:
            b[l] += delta[l - 1] @ W[l - 1]
    for l in range(1, L + 1):
        o[l] += delta[l]
    chains = xm


def block_matrix():
    """M: rows the even layers' units, columns the odd layers' (W⁽ˡ⁾ or its transpose between neighbours, 0 elsewhere)."""
    def blk(e, k):
        if k == e + 1:
            return W[e]
        if k == e - 1:
            return W[k].T
        return np.zeros((sizes[e], sizes[k]), f32)
    return np.ascontiguousarray(np.block([[blk(e, k) for k in odd] for e in even]))


def gibbs(xE, xO, M, bO, bE, sweeps):
    """Sweeps of [odd layers given even; even layers (visible included) given odd], each sampled."""
    for _ in range(sweeps):
        xO = bernoulli_(sig_(xE @ M + bO))
        xE = bernoulli_(sig_(xO @ M.T + bE))
    return xE, xO


if GIBBS:
    W = [(0.1 * rng.standard_normal((sizes[l], sizes[l + 1]))).astype(f32) for l in range(L)]
    states = [(rng.random((B, n)) < 0.5).astype(f32) for n in sizes]
    xE = np.concatenate([states[l] for l in even], axis=1)
    xO = np.concatenate([states[l] for l in odd], axis=1)
    T = 50  # sweeps per block, as relprop sample runs them; M and the folded biases once per block

    def block(xE, xO, sweeps):
        M = block_matrix()
        oE = np.concatenate([o[l] for l in even])
        oO = np.concatenate([o[l] for l in odd])
        bO = np.concatenate([b[l] for l in odd]) - oE @ M
        bE = np.concatenate([b[l] for l in even]) - M @ oO
        return gibbs(xE, xO, M, bO, bE, sweeps)

    xE, xO = block(xE, xO, 3)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for k in range(0, updates, T):
        xE, xO = block(xE, xO, min(T, updates - k))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({"sweeps_per_s": updates / wall, "cpu_sweeps_per_s": updates / cpu}))
    sys.exit(0)

for k in range(3):
    update(data[(k * B) % 1000:(k * B) % 1000 + B])
t0 = time.perf_counter()
c0 = time.process_time()
for k in range(updates):
    s = (k * B) % (1000 - B)
    update(data[s:s + B])
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({"updates_per_s": updates / wall, "cpu_updates_per_s": updates / cpu}))
