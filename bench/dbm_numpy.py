#!/usr/bin/python3
"""NumPy reference for bench/dbm-speed.ts: the same centered DBM update as the ONNX graph
(mean-field positive phase, persistent Gibbs chains, centered gradient, offset move with bias
shift), float32, on random binary data. Threads are set by the caller (OPENBLAS_NUM_THREADS etc.).

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


def sig(t):
    return 1 / (1 + np.exp(-t))


def pre(l, xs, from_below=None):
    t = b[l].copy()
    if from_below is not None:
        t = t + from_below
    elif l > 0 and xs[l - 1] is not None:
        t = t + (xs[l - 1] - o[l - 1]) @ W[l - 1]
    if l < L and xs[l + 1] is not None:
        t = t + (xs[l + 1] - o[l + 1]) @ W[l].T
    return t


def update(x):
    global chains
    xd = [x] + [None] * L
    visible_in = (x - o[0]) @ W[0]  # the clamped visible layer's input to layer 1, once (as the graph does)
    for _ in range(P):
        for l in odd:
            xd[l] = sig(pre(l, xd, visible_in if l == 1 else None))
        for l in even[1:]:
            xd[l] = sig(pre(l, xd))
    xm = list(chains)
    for l in odd + even:
        q = sig(pre(l, xm))
        xm[l] = (rng.random(q.shape, dtype=f32) < q).astype(f32)
    for l in range(L):
        dd = (xd[l] - o[l]).T @ (xd[l + 1] - o[l + 1]) / B
        dm = (xm[l] - o[l]).T @ (xm[l + 1] - o[l + 1]) / B
        W[l] += lr * (dd - dm)
    md = [xd[l].mean(0) for l in range(L + 1)]
    for l in range(L + 1):
        b[l] += lr * (md[l] - xm[l].mean(0))
    delta = [np.zeros_like(o[0])] + [nu * (md[l] - o[l]) for l in range(1, L + 1)]
    for l in range(L + 1):
        if l < L:
            b[l] += W[l] @ delta[l + 1]
        if l > 0:
            b[l] += delta[l - 1] @ W[l - 1]
    for l in range(1, L + 1):
        o[l] += delta[l]
    chains = xm


def gibbs(states):
    """One sweep: odd layers, then even layers (visible included), each sampled given its neighbours."""
    for l in odd + even:
        q = sig(pre(l, states))
        states[l] = (rng.random(q.shape, dtype=f32) < q).astype(f32)


if GIBBS:
    W = [(0.1 * rng.standard_normal((sizes[l], sizes[l + 1]))).astype(f32) for l in range(L)]
    states = [(rng.random((B, n)) < 0.5).astype(f32) for n in sizes]
    for k in range(3):
        gibbs(states)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for k in range(updates):
        gibbs(states)
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
