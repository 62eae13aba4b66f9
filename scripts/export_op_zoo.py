#!/usr/bin/python3
"""Small models that exercise the importer's operator list at several opsets.

Run with Debian's python3 (python3-torch, python3-onnx):  /usr/bin/python3 scripts/export_op_zoo.py
For each model and opset it writes test/assets/op-zoo/<model>-opset<k>.onnx and a JSON with the
input, the target, PyTorch's logits (before any softmax) and PyTorch's autograd gradient of the
target logit with respect to the input. test/op-zoo.test.ts checks relprop's `gradient` against it.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'assets', 'op-zoo')
OPSETS = [11, 13, 17]  # PyTorch 1.13 exports up to 17; the test derives an opset-18 variant


class Mixed(nn.Module):
    """Normalisation, strided/dilated/grouped convs, LeakyReLU, Tanh, Sigmoid, overlapping max-pool,
    Split + Concat, ReLU6 (Clip), ceil-mode average pool without pad counting, view-style flatten,
    Dropout, Unsqueeze/Squeeze, and a LogSoftmax output."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.ca = nn.Conv2d(4, 6, 1)
        self.cb = nn.Conv2d(4, 6, 3, padding=1, groups=2)
        self.c3 = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(12 * 4 * 4, 5)

    def forward(self, x):
        x = (x - 0.5) / 0.25
        x = F.leaky_relu(self.c1(x), 0.1)
        x = torch.tanh(self.c2(x))
        x = F.max_pool2d(x, 3, stride=1, padding=1)
        a, b = torch.split(x, 4, dim=1)
        x = torch.cat([self.ca(a), torch.sigmoid(self.cb(b))], dim=1)
        x = F.relu6(self.c3(x))
        x = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        x = x.view(x.size(0), -1)
        x = self.drop(x).unsqueeze(1).squeeze(1)
        self.logits = self.fc(x)
        return F.log_softmax(self.logits, dim=1)


class Sequence(nn.Module):
    """MatMul + Add on a 3-D input, mean over the sequence (ReduceMean), residual, Softmax output."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(6, 10)
        self.l2 = nn.Linear(10, 10)
        self.out = nn.Linear(10, 4)

    def forward(self, x):
        h = F.relu(self.l1(x))
        h = F.relu(self.l2(h) + h)
        h = h.mean(dim=1)
        self.logits = self.out(h)
        return torch.softmax(self.logits, dim=1)


def export(name, model, shape, target):
    torch.manual_seed(7)
    for p in model.parameters():
        with torch.no_grad():
            p.uniform_(-0.6, 0.6)
    model.eval()
    x = (torch.rand(*shape) * 1.2 - 0.1)
    for opset in OPSETS:
        path = os.path.join(OUT, f'{name}-opset{opset}.onnx')
        torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'], output_names=['probs'],
                          dynamic_axes={'input': {0: 'batch'}, 'probs': {0: 'batch'}})
    xg = x.clone().requires_grad_(True)
    model(xg)
    model.logits[0, target].backward()
    spec = {
        'model': name, 'opsets': OPSETS, 'input_shape': list(shape), 'input': x.flatten().tolist(), 'target': target,
        'torch_logits': model.logits.detach().flatten().tolist(), 'grad': xg.grad.flatten().tolist(),
    }
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(spec, f)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    export('mixed', Mixed(), (1, 3, 12, 12), 2)
    export('sequence', Sequence(), (1, 7, 6), 1)
