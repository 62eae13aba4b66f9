#!/usr/bin/python3
"""PyTorch peer for bench/molecules.ts: the quantum-machine network and its input pipeline.

The same steps as relprop's src/core/molecules/ (network.ts, expand.ts, coulomb.ts), written as a
PyTorch user would, vectorised over the batch: random Coulomb matrices (N(0, σ²) noise on the row
norms, the sorting permutation applied to rows and columns), the upper triangle row by row, the
thermometer expansion tanh((x − kθ)/θ) up to the training maxima over 10 random realisations,
centred per feature and divided by one global scale, then expanded → 400 → 100 → T with
1.5·tanh(x/1.5), weights N(0, 1/fan-in) (output layer zero), biases zero, standardised targets,
the masked multi-task MSE (per task the mean over present values, summed), Adam, shuffled
batches, and predictions averaged over the test-time random matrices.

Usage: python3 bench/molecules_torch.py DIR THREADS EPOCHS BATCH REALISATIONS [--step STEPS REPEATS]
DIR holds train_C.npy [N, S, S] (float64, Coulomb matrices from relprop), train_Y.npy [N, T]
(NaN = missing), test_C.npy, test_Y.npy. Prints one JSON line. With --step (for
bench/molecules-step.ts; no test files needed): the parts of one training step instead, in ms per
step (medians of REPEATS passes of STEPS steps): the input pipeline, forward + backward, the
optimizer, and the whole step on fixed pre-expanded inputs.
"""
import json
import sys
import time

import numpy as np
import torch

d = sys.argv[1]
threads, epochs, batch, R = (int(v) for v in sys.argv[2:6])
torch.set_num_threads(threads)
if torch.get_num_interop_threads() != 1:  # once per process: bench/peer.py runs this script again
    torch.set_num_interop_threads(1)
torch.manual_seed(0)
gen = torch.Generator().manual_seed(0)
HIDDEN, SCALE, NOISE, STEP, MAX_REAL, LR = (400, 100), 1.5, 1.0, 1.0, 10, 1e-3

Ctr = torch.from_numpy(np.load(f"{d}/train_C.npy"))
Ytr = torch.from_numpy(np.load(f"{d}/train_Y.npy"))
STEP_MODE = "--step" in sys.argv
if not STEP_MODE:
    Cte = torch.from_numpy(np.load(f"{d}/test_C.npy"))
    Yte = np.load(f"{d}/test_Y.npy")
S = Ctr.shape[1]
T = Ytr.shape[1]
iu = torch.triu_indices(S, S)
tri_index = iu[0] * S + iu[1]


def random_triangles(C):
    """Upper triangles of one random Coulomb matrix per molecule (float64, [B, S(S+1)/2])."""
    B = C.shape[0]
    norms = C.norm(dim=2) + NOISE * torch.randn(B, S, generator=gen, dtype=C.dtype)
    perm = norms.argsort(dim=1, descending=True)
    P = C.gather(1, perm[:, :, None].expand(B, S, S)).gather(2, perm[:, None, :].expand(B, S, S))
    return P.reshape(B, S * S)[:, tri_index]


class Expansion:
    def __init__(self, C):
        mx = torch.stack([random_triangles(C) for _ in range(MAX_REAL)]).amax(dim=(0, 1))
        counts = torch.clamp(torch.ceil((mx.clamp(min=0) + STEP) / STEP - 1e-12), min=1).long()
        self.dim = torch.repeat_interleave(torch.arange(len(counts)), counts)
        starts = torch.cumsum(counts, 0) - counts
        self.thr = ((torch.arange(len(self.dim)) - starts[self.dim]) * STEP).double()
        raw = self.raw(random_triangles(C))
        self.mean = raw.mean(0)
        self.std = float((raw - self.mean).pow(2).mean(0).sum().div(raw.shape[1]).sqrt()) or 1.0

    def raw(self, x):
        return torch.tanh((x[:, self.dim] - self.thr) / STEP)

    def __call__(self, x):
        return ((self.raw(x) - self.mean) / self.std).float()


class ScaledTanh(torch.nn.Module):
    def forward(self, x):
        return SCALE * torch.tanh(x / SCALE)


def network(width):
    layers, fan_in = [], width
    for h in HIDDEN:
        lin = torch.nn.Linear(fan_in, h)
        torch.nn.init.normal_(lin.weight, std=fan_in**-0.5)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, ScaledTanh()]
        fan_in = h
    out = torch.nn.Linear(fan_in, T)
    torch.nn.init.zeros_(out.weight)
    torch.nn.init.zeros_(out.bias)
    return torch.nn.Sequential(*layers, out)


def train():
    expansion = Expansion(Ctr)
    mask = (~torch.isnan(Ytr)).float()
    mean = torch.nansum(Ytr, 0) / mask.sum(0)
    std = torch.sqrt(torch.nansum((Ytr - mean) ** 2, 0) / mask.sum(0))
    y = torch.nan_to_num((Ytr - mean) / std).float()
    net = network(len(expansion.dim))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    N = Ctr.shape[0]
    for _ in range(epochs):
        order = torch.randperm(N, generator=gen)
        total = 0.0
        for s in range(0, N, batch):
            idx = order[s : s + batch]
            x = expansion(random_triangles(Ctr[idx]))
            m = mask[idx]
            diff = (net(x) - y[idx]) * m
            loss = (diff * diff).sum(0).div(m.sum(0).clamp(min=1)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
    return net, expansion, mean, std, total / N


def predict(net, expansion, mean, std, C, chunk=256):
    out = []
    with torch.no_grad():
        for s in range(0, C.shape[0], chunk):
            Cb = C[s : s + chunk]
            x = torch.cat([random_triangles(Cb) for _ in range(R)])
            z = net(expansion(x)).double().reshape(R, Cb.shape[0], T).mean(0)
            out.append(mean + std * z)
    return torch.cat(out).numpy()


def step_parts(steps, repeats):
    """Medians over repeats of ms per step: input pipeline, forward + backward, optimizer, whole step."""
    expansion = Expansion(Ctr)
    mask = (~torch.isnan(Ytr)).float()
    mean = torch.nansum(Ytr, 0) / mask.sum(0)
    std = torch.sqrt(torch.nansum((Ytr - mean) ** 2, 0) / mask.sum(0))
    y = torch.nan_to_num((Ytr - mean) / std).float()
    net = network(len(expansion.dim))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    N = Ctr.shape[0]
    order = torch.randperm(N, generator=gen)
    idxs = [order[(s * batch) % (N - batch) : (s * batch) % (N - batch) + batch] for s in range(steps)]
    xs = [expansion(random_triangles(Ctr[i])) for i in idxs]

    def loss_of(x, i):
        m = mask[i]
        diff = (net(x) - y[i]) * m
        return (diff * diff).sum(0).div(m.sum(0).clamp(min=1)).sum()

    parts = {"input_ms": [], "fwd_bwd_ms": [], "opt_ms": [], "step_ms": [], "step_cpu_ms": []}
    for _ in range(repeats):
        t = time.perf_counter()
        for i in idxs:
            expansion(random_triangles(Ctr[i]))
        parts["input_ms"].append((time.perf_counter() - t) * 1e3 / steps)
        fb = op = 0.0
        for x, i in zip(xs, idxs):
            t = time.perf_counter()
            opt.zero_grad()
            loss_of(x, i).backward()
            t2 = time.perf_counter()
            opt.step()
            fb += t2 - t
            op += time.perf_counter() - t2
        parts["fwd_bwd_ms"].append(fb * 1e3 / steps)
        parts["opt_ms"].append(op * 1e3 / steps)
        t, c = time.perf_counter(), time.process_time()
        for x, i in zip(xs, idxs):
            loss = loss_of(x, i)
            opt.zero_grad()
            loss.backward()
            opt.step()
            float(loss)
        parts["step_ms"].append((time.perf_counter() - t) * 1e3 / steps)
        parts["step_cpu_ms"].append((time.process_time() - c) * 1e3 / steps)
    return {k: sorted(v)[len(v) // 2] for k, v in parts.items()}


if STEP_MODE:
    at = sys.argv.index("--step")
    out = step_parts(int(sys.argv[at + 1]), int(sys.argv[at + 2]))
    print(json.dumps({**out, "torch": torch.__version__, "threads": threads}))
    sys.exit(0)

t0, c0 = time.perf_counter(), time.process_time()  # wall, and CPU time of the process (all threads)
net, expansion, mean, std, last_loss = train()
train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
predict(net, expansion, mean, std, Cte)  # warm-up
reps, cpus = [], []
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    pred = predict(net, expansion, mean, std, Cte)
    reps.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
pred_s, pred_cpu_s = sorted(reps)[1], sorted(cpus)[1]
err = pred - Yte
mae = [float(np.nanmean(np.abs(err[:, t]))) for t in range(T)]
print(
    json.dumps(
        {
            "train_s": train_s,
            "train_cpu_s": train_cpu_s,
            "train_loss": last_loss,
            "predictions_per_s": Cte.shape[0] / pred_s,
            "predictions_per_cpu_s": Cte.shape[0] / pred_cpu_s,
            "mae": mae,
            "width": len(expansion.dim),
            "torch": torch.__version__,
            "threads": threads,
        }
    )
)
