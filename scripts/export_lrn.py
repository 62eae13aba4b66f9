#!/usr/bin/python3
"""Small conv-LRN-conv models as PyTorch exports them, for the LRN fusion test.

Run with Debian's python3 (python3-torch 1.13):  /usr/bin/python3 scripts/export_lrn.py
PyTorch exports nn.LocalResponseNorm not as an ONNX LRN node but as its arithmetic (Mul, Unsqueeze,
Reshape, Pad, AveragePool, If/Squeeze, Mul, Add, Pow, Div); relprop fuses that back into LRN
(src/core/graph/passes/fuse-lrn.ts). For each opset this writes test/assets/lrn/conv-lrn-opset<k>.onnx
and one conv-lrn.json with the input and PyTorch's logits, which test/lrn-fuse.test.ts compares with
relprop's forward of the fused graph.
"""
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'assets', 'lrn')
OPSETS = [11, 13, 17]  # the importer reads 11+; torch 1.13 exports up to 17


class ConvLrn(nn.Module):
    """Conv, ReLU, LRN (size 5, α large enough that it really normalises), conv, ReLU, dense."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 3, padding=1)
        self.lrn = nn.LocalResponseNorm(5, alpha=0.5, beta=0.75, k=1.0)
        self.c2 = nn.Conv2d(6, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        x = self.lrn(torch.relu(self.c1(x)))
        x = torch.relu(self.c2(x))
        return self.fc(x.flatten(1))


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(3)
    model = ConvLrn().eval()
    x = torch.rand(2, 1, 6, 6) * 2
    for opset in OPSETS:
        torch.onnx.export(model, x, os.path.join(OUT, f'conv-lrn-opset{opset}.onnx'), opset_version=opset,
                          input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    with torch.no_grad():
        logits = model(x)
    spec = {'opsets': OPSETS, 'input_shape': list(x.shape), 'input': x.flatten().tolist(),
            'torch_logits': logits.flatten().tolist(), 'lrn': {'size': 5, 'alpha': 0.5, 'beta': 0.75, 'k': 1.0},
            'torch': torch.__version__}
    with open(os.path.join(OUT, 'conv-lrn.json'), 'w') as f:
        json.dump(spec, f)
