#!/usr/bin/python3
"""POT reference for bench/sinkhorn.ts: ot.bregman.sinkhorn_log and ot.bregman.sinkhorn_knopp (linear domain) on the
same cost matrix (float32), uniform marginals, fixed iteration count (stopThr = 0: no early stop).
Threads are set by the caller (OPENBLAS_NUM_THREADS etc.).

Usage: sinkhorn_pot.py COST.npy GAMMA ITERS
Prints one JSON line: {"log_its": …, "linear_its": …} (iterations per second).
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
n, m = M.shape
a = np.full(n, 1 / n, np.float32)
b = np.full(m, 1 / m, np.float32)
warnings.simplefilter("ignore")
out = {}
for key, fn in (("log_its", ot.bregman.sinkhorn_log), ("linear_its", ot.bregman.sinkhorn_knopp)):
    fn(a, b, M, gamma, numItermax=10, stopThr=0)  # warm-up
    t0 = time.perf_counter()
    fn(a, b, M, gamma, numItermax=iters, stopThr=0)
    out[key] = iters / (time.perf_counter() - t0)
print(json.dumps(out))
