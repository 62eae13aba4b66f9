#!/usr/bin/python3
"""PyTorch reference for bench/train.ts: the fmnist-cnn preset, same batch size and thread count.

Prints one JSON line: {"samples_per_s": …, "inference_samples_per_s": …} (training steps, and
forward-only inference of the same network in eval mode without autograd). Run by bench/train.ts
(needs Debian's python3-torch).
"""
import json
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 60
torch.set_num_threads(threads)
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(576, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.f((x - 0.286) / 0.353)


net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.rand(batch, 1, 28, 28)
y = torch.randint(0, 10, (batch,))
loss_fn = nn.CrossEntropyLoss()
for i in range(steps + 5):
    if i == 5:
        t0 = time.perf_counter()
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
dt = time.perf_counter() - t0

net.eval()
with torch.no_grad():
    for i in range(steps + 5):
        if i == 5:
            t1 = time.perf_counter()
        net(x)
dt_inf = time.perf_counter() - t1
print(json.dumps({"samples_per_s": steps * batch / dt, "inference_samples_per_s": steps * batch / dt_inf,
                  "torch": torch.__version__, "threads": threads}))
