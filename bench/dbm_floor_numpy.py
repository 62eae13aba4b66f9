#!/usr/bin/python3
"""NumPy side of bench/dbm-floor.ts: milliseconds per call of each GEMM and elementwise step of the
DBM benches, float32, operands preallocated, results written into preallocated outputs (out=), so
only the operation itself is timed. Threads are set by the caller (OPENBLAS_NUM_THREADS etc.).

Usage: dbm_floor_numpy.py SPECS REPEATS   (SPECS: JSON list of [name, kind, dims…] as dbm-floor.ts
builds it). Prints one JSON line {name: ms per call (best of 5 rounds of REPEATS calls)}.
"""
import json
import sys
import time

import numpy as np

specs = json.loads(sys.argv[1])
reps = int(sys.argv[2])
rng = np.random.default_rng(0)
f32 = np.float32


def mat(*shape):
    return rng.standard_normal(shape).astype(f32)


def case(kind, d):
    if kind == "gemm":  # C += A·B or C = A·B, with A [M,K] (transA: [K,M]) and B [K,N] (transB: [N,K])
        M, K, N, ta, tb, acc = d
        A = mat(K, M) if ta else mat(M, K)
        B = mat(N, K) if tb else mat(K, N)
        Aop = A.T if ta else A
        Bop = B.T if tb else B
        C = mat(M, N)
        out = np.empty((M, N), f32)
        if acc:
            def run():
                np.matmul(Aop, Bop, out=out)
                np.add(out, C, out=out)
        else:
            def run():
                np.matmul(Aop, Bop, out=out)
        return run
    R, N = d
    x = mat(R, N)
    out = np.empty((R, N), f32)
    if kind == "sigmoid":
        def run():
            np.negative(x, out=out)
            np.exp(out, out=out)
            np.add(out, 1, out=out)
            np.reciprocal(out, out=out)
        return run
    if kind == "bernoulli":  # u < p as 0/1 floats, the uniforms drawn too
        def run():
            u = rng.random((R, N), dtype=f32)
            np.less(u, x, out=out, casting="unsafe")
        return run
    if kind == "uniforms":
        def run():
            rng.random((R, N), dtype=f32, out=out)
        return run
    if kind == "add":
        def run():
            np.add(x, f32(1), out=out)
        return run
    raise ValueError(kind)


res = {}
for name, kind, *d in specs:
    run = case(kind, d)
    for _ in range(3):
        run()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            run()
        best = min(best, (time.perf_counter() - t0) / reps)
    res[name] = best * 1000
print(json.dumps(res))
