#!/usr/bin/python3
"""POT reference for bench/sinkhorn.ts: ot.bregman.sinkhorn_log and ot.bregman.sinkhorn_knopp (linear domain) on the
same cost matrix (float32), uniform marginals.

Usage: sinkhorn_pot.py COST.npy GAMMA ITERS        fixed iteration count (stopThr = 0: no early stop)
       sinkhorn_pot.py COST.npy GAMMA ITERS TOL    to tolerance: stopThr = TOL, at most ITERS iterations
Threads are set by the caller (OPENBLAS_NUM_THREADS etc.).
Prints one JSON line: {"log_its": …, "linear_its": …} (iterations per second), and with TOL also
{"log_s": …, "linear_s": …, "log_niter": …, "linear_niter": …} (seconds, the median of 3 solves, and iterations
to the tolerance).
POT's stopping error is the 2-norm of the marginal violation, checked every 10 iterations.
"""
import json
import sys
import time
import warnings

import numpy as np
import ot

M = np.load(sys.argv[1]).astype(np.float32)
gamma = float(sys.argv[2])
iters = int(sys.argv[3])
tol = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
n, m = M.shape
a = np.full(n, 1 / n, np.float32)
b = np.full(m, 1 / m, np.float32)
warnings.simplefilter("ignore")
out = {}
for key, fn in (("log", ot.bregman.sinkhorn_log), ("linear", ot.bregman.sinkhorn_knopp)):
    fn(a, b, M, gamma, numItermax=10, stopThr=0)  # warm-up
    times = []
    for _ in range(3 if tol > 0 else 1):
        t0 = time.perf_counter()
        _, info = fn(a, b, M, gamma, numItermax=iters, stopThr=tol, log=True)
        times.append(time.perf_counter() - t0)
    dt = sorted(times)[len(times) // 2]
    if tol > 0:
        out[key + "_s"] = dt
        out[key + "_niter"] = int(info.get("niter", len(info["err"]) * 10))
    else:
        out[key + "_its"] = iters / dt
print(json.dumps(out))
