#!/usr/bin/python3
"""torchvision models for bench/explain-vs-forward.ts, exported by PyTorch as users export them.

    /usr/bin/python3 bench/export_torchvision.py [OUT_DIR] [model ...]

Needs Debian's python3-torch and python3-torchvision (apt install python3-torchvision). Writes
OUT_DIR/<model>.onnx (default OUT_DIR: bench/.cache, not committed: VGG-16 alone is 528 MB) for
vgg16, resnet18, mobilenet_v2 and densenet121: random weights from torchvision's own
initialisation (seeded), BatchNorm running statistics set to random positive variances and small
means so that the layers are not identities, eval mode, input "input" [batch, 3, 224, 224] with a
dynamic batch axis, output "logits", opset 17. An existing file is kept.
"""
import os
import sys

import torch
import torchvision

MODELS = {
    "vgg16": lambda: torchvision.models.vgg16(weights=None),
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "densenet121": lambda: torchvision.models.densenet121(weights=None),
}


def main():
    args = sys.argv[1:]
    out = args.pop(0) if args and args[0] not in MODELS else os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
    names = args or list(MODELS)
    os.makedirs(out, exist_ok=True)
    for name in names:
        if name not in MODELS:
            sys.exit(f"unknown model {name} (known: {', '.join(MODELS)})")
        path = os.path.join(out, f"{name}.onnx")
        if os.path.exists(path):
            print(f"{path} exists")
            continue
        torch.manual_seed(0)
        model = MODELS[name]()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        model.eval()
        tmp = path + ".tmp"
        torch.onnx.export(
            model,
            torch.rand(1, 3, 224, 224),
            tmp,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
        )
        os.replace(tmp, path)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
