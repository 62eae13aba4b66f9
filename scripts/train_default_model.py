#!/usr/bin/python3
"""Train relprop's bundled default model: a small Fashion-MNIST CNN.

Run from the repository root with Debian's Python (python3-torch, python3-onnx,
python3-numpy, python3-pil, dataset-fashion-mnist):

    /usr/bin/python3 scripts/train_default_model.py

Outputs (all committed; Python is never a runtime dependency of relprop):
  models/fmnist-cnn.onnx       input `input` float32 [N,1,28,28] in [0,1], output `logits` [N,10]
  models/fmnist-cnn.json       model card (accuracy is measured by this script)
  models/samples/*.png         8 test images (first test image of classes 0..7)
  models/samples/samples.npy   float32 [8,1,28,28] in [0,1]
  models/samples/labels.json   [{file, label, class}]

The ONNX file is verified with onnx.checker and by running it through onnxruntime-node
(node, from this repository's node_modules) and comparing the logits with PyTorch's.

This model was trained by PyTorch as a stand-in until relprop's own trainer replaces it.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "models")
SAMPLES = os.path.join(MODELS, "samples")

SEED = 0
EPOCHS = 6
BATCH = 128
LR = 2e-3
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel mean / std
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

DATA_DIRS = ["/usr/share/datasets/fashion-mnist",           # Debian dataset-fashion-mnist (full)
             "/work/shared/datasets/fashion-mnist-small"]   # fallback: stratified subset


def find_data_dir():
    try:
        out = subprocess.run(["dpkg", "-L", "dataset-fashion-mnist"], capture_output=True,
                             text=True, check=True).stdout.split()
        for p in out:
            if p.endswith("train-images-idx3-ubyte.gz"):
                return os.path.dirname(p), "Debian package dataset-fashion-mnist (full set)"
    except (OSError, subprocess.CalledProcessError):
        pass
    for d in DATA_DIRS:
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d, ("full set" if "small" not in d else "fashion-mnist-small subset")
    sys.exit("Fashion-MNIST IDX files not found")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Normalize(nn.Module):
    """(x - mean) / std inside the graph, so the model takes raw pixels in [0,1]."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x):
        return (x - self.mean) / self.std


def make_model():
    return nn.Sequential(
        Normalize(MEAN, STD),
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   # 16x14x14
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 32x7x7
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        # count_include_pad=False: torch 1.13 otherwise emits a zero Pad before AveragePool
        nn.AvgPool2d(2, count_include_pad=False),                                         # 64x3x3
        nn.Flatten(),
        nn.Linear(64 * 3 * 3, 10),
    )


ARCHITECTURE = [
    "Sub(0.2860), Div(0.3530)  (normalisation inside the graph)",
    "Conv 1->16, 3x3, pad 1 (+BatchNorm, folded at export), ReLU, MaxPool 2x2  -> 16x14x14",
    "Conv 16->32, 3x3, pad 1 (+BatchNorm, folded), ReLU, MaxPool 2x2           -> 32x7x7",
    "Conv 32->64, 3x3, pad 1 (+BatchNorm, folded), ReLU, AvgPool 2x2           -> 64x3x3",
    "Flatten -> 576, Linear 576->10 (logits, no softmax)",
]


def slug(name):
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def write_png(path, img_u8):
    from PIL import Image
    Image.fromarray(img_u8, mode="L").save(path, optimize=True)


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def ort_logits(onnx_path, samples):
    """Run the exported model through onnxruntime-node and return logits [8,10]."""
    with tempfile.TemporaryDirectory() as td:
        inp, out = os.path.join(td, "in.bin"), os.path.join(td, "out.bin")
        samples.astype("<f4").tofile(inp)
        js = f"""
const ort = require('onnxruntime-node'); const fs = require('fs');
(async () => {{
  const s = await ort.InferenceSession.create({json.dumps(onnx_path)});
  const b = fs.readFileSync({json.dumps(inp)});
  const x = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  const r = await s.run({{ input: new ort.Tensor('float32', x, {list(samples.shape)}) }});
  const l = r.logits;
  if (JSON.stringify(l.dims) !== JSON.stringify([{samples.shape[0]}, 10])) throw new Error('dims ' + l.dims);
  fs.writeFileSync({json.dumps(out)}, Buffer.from(l.data.buffer, l.data.byteOffset, l.data.byteLength));
}})().catch(e => {{ console.error(e); process.exit(1); }});
"""
        subprocess.run(["node", "-e", js], cwd=ROOT, check=True)
        return np.fromfile(out, dtype="<f4").reshape(samples.shape[0], 10)


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    nthreads = int(os.environ.get("TORCH_THREADS", "2"))
    torch.set_num_threads(nthreads)

    data_dir, data_desc = find_data_dir()
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    xte_u8 = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    print(f"data: {data_dir} train {xtr.shape} test {xte_u8.shape}", flush=True)

    to_t = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)
    xtr_t, ytr_t = to_t(xtr), torch.from_numpy(ytr.astype(np.int64))
    xte_t, yte_t = to_t(xte_u8), torch.from_numpy(yte.astype(np.int64))

    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps_per_epoch = (len(xtr_t) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, epochs=EPOCHS,
                                                steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    history = []
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xtr_t), generator=gen)
        tot = 0.0
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(xtr_t[idx]), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        acc = evaluate(model, xte_t, yte_t)
        history.append({"epoch": epoch + 1, "train_loss": round(tot / len(perm), 4),
                        "test_accuracy": round(acc, 4)})
        print(f"epoch {epoch + 1}: loss {tot / len(perm):.4f} test acc {acc:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
    train_seconds = time.time() - t0

    model.eval()
    test_acc = evaluate(model, xte_t, yte_t)

    # ---- export ----
    os.makedirs(SAMPLES, exist_ok=True)
    onnx_path = os.path.join(MODELS, "fmnist-cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path,
                      opset_version=17, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    ops = sorted({n.op_type for n in m.graph.node})
    size = os.path.getsize(onnx_path)
    print(f"exported {onnx_path}: {size} bytes, ops {ops}")
    assert size < 500_000, size
    assert "BatchNormalization" not in ops, "BatchNorm was not folded"
    if "small" not in data_dir:
        assert test_acc >= 0.90, f"test accuracy {test_acc:.4f} below the 0.90 target"

    # ---- samples: first test image of classes 0..7 ----
    sample_idx = [int(np.nonzero(yte == c)[0][0]) for c in range(8)]
    labels = []
    for c, i in enumerate(sample_idx):
        fname = f"{i}-{slug(CLASSES[c])}.png"
        write_png(os.path.join(SAMPLES, fname), xte_u8[i])
        labels.append({"file": fname, "index": i, "label": c, "class": CLASSES[c]})
    samples = (xte_u8[sample_idx].astype(np.float32) / 255.0)[:, None, :, :]
    np.save(os.path.join(SAMPLES, "samples.npy"), samples.astype(np.float32))
    with open(os.path.join(SAMPLES, "labels.json"), "w") as f:
        json.dump(labels, f, indent=2)
        f.write("\n")

    # ---- verify with onnxruntime-node ----
    with torch.no_grad():
        tl = model(torch.from_numpy(samples)).numpy()
    ol = ort_logits(onnx_path, samples)
    max_abs = float(np.abs(tl - ol).max())
    rel = float(np.linalg.norm(tl - ol) / np.linalg.norm(tl))
    print(f"onnxruntime-node vs torch on 8 samples: max abs diff {max_abs:.3g}, rel L2 {rel:.3g}")
    assert rel < 1e-5 and max_abs < 1e-4, (max_abs, rel)
    sample_pred = ol.argmax(1).tolist()

    card = {
        "name": "fmnist-cnn",
        "file": "fmnist-cnn.onnx",
        "file_bytes": size,
        "description": "Small CNN classifying Fashion-MNIST 28x28 grayscale images into 10 classes; "
                       "relprop's bundled default model for explanations, examples and tests.",
        "note": "Trained by PyTorch (Debian python3-torch %s) as a stand-in until relprop's own "
                "trainer replaces it." % torch.__version__,
        "architecture": ARCHITECTURE,
        "onnx_ops": ops,
        "opset": 17,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "input": {"name": "input", "dtype": "float32", "shape": ["N", 1, 28, 28],
                  "range": [0, 1], "preprocessing":
                      "raw pixel / 255 (0 = black background, 1 = white); normalisation "
                      "(x - 0.2860) / 0.3530 happens inside the model as Sub/Div constants"},
        "output": {"name": "logits", "dtype": "float32", "shape": ["N", 10],
                   "meaning": "unnormalised class scores (apply softmax for probabilities)"},
        "classes": CLASSES,
        "training_data": {
            "dataset": "Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), MIT license",
            "source": f"{data_desc}: {data_dir}",
            "train_images": int(len(xtr)), "test_images": int(len(xte_u8)),
            "augmentation": "none",
        },
        "training": {
            "epochs": EPOCHS, "batch_size": BATCH, "optimizer": "Adam (betas 0.9, 0.999)",
            "learning_rate": f"one-cycle schedule, max lr {LR}",
            "loss": "cross-entropy", "seed": SEED, "torch_threads": nthreads,
            "seconds": round(train_seconds, 1), "history": history,
        },
        "test_accuracy": round(test_acc, 4),
        "test_accuracy_note": f"measured by this script on all {len(xte_u8)} test images "
                              "with the PyTorch model that was exported",
        "export": {"exporter": f"torch.onnx.export (torch {torch.__version__})",
                   "training": "TrainingMode.EVAL", "do_constant_folding": True,
                   "dynamic_axes": {"input": [0], "logits": [0]},
                   "verified": f"onnx.checker + onnxruntime-node logits vs torch on the 8 samples: "
                               f"max abs diff {max_abs:.2g}"},
        "samples": {"dir": "samples/", "indices": sample_idx,
                    "predicted": sample_pred},
        "command": "/usr/bin/python3 scripts/train_default_model.py",
    }
    with open(os.path.join(MODELS, "fmnist-cnn.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"test accuracy {test_acc:.4f}; wrote model card")


if __name__ == "__main__":
    main()
