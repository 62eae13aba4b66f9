#!/usr/bin/python3
"""Export torchvision models as weight-less ONNX skeletons + deterministic fill specs.

Run from the repository root with Debian's PyTorch 1.13 / torchvision 0.14 / onnx 1.12:

    /usr/bin/python3 scripts/export_torchvision.py [model ...]

For every model this writes to test/assets/torchvision/:
  <model>.skeleton.onnx  the exported graph; every float initializer that is a model parameter or
                         BatchNorm buffer keeps its name, dims and data_type but has NO data
  <model>.json           {"model", "input_shape", "fill": {initializer: {"kind", "fan_in"[, "param"]}},
                          "target", "input_seed_name", "torch_logits", "grad_file", ...}
  <model>.grad.npy       float32 d logits[0, target] / d input from PyTorch autograd

Full weights would be far too big to commit, so all weights (and the input) come from a tiny
counter-based integer PRNG that test/helpers/torchvision-weights.ts reproduces bit for bit:

  h(name)  = FNV-1a 32-bit hash of the UTF-8 bytes of name
             (h = 0x811C9DC5; for each byte b: h = (h XOR b) * 0x01000193 mod 2^32)
  x_k      = fmix32(h XOR (k * 0x9E3779B9 mod 2^32))            k = 0 .. n-1 (flat, C order)
  fmix32(x): x ^= x >>> 16; x = x * 0x85EBCA6B; x ^= x >>> 13; x = x * 0xC2B2AE35; x ^= x >>> 16
             (all products mod 2^32; this is MurmurHash3's 32-bit finaliser)
  u_k      = (x_k >>> 8) / 2^24                                  exact float in [0, 1)

Value of element k (computed in float64, then rounded to float32), seeded by the state_dict name:
  weight (Conv / Linear)   (2u - 1) * sqrt(3 / fan_in)     fan_in = prod(dims[1:])
  bias   (Conv / Linear)   (2u - 1) * 0.1
  bn_weight                0.5 + u
  bn_bias                  (2u - 1) * 0.2
  bn_mean                  (2u - 1) * 0.2
  bn_var                   0.5 + u
  input (name "__input__") (2u - 1) * 2

The model is exported in eval mode with training=PRESERVE and do_constant_folding=False so
that BatchNormalization stays a separate node and initializer names equal state_dict names
(checked here; a renamed initializer would get "param": <state_dict name> in the fill spec).
"""
import io
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "assets", "torchvision")
TARGET = 7
INPUT_SEED_NAME = "__input__"
M32 = np.uint64(0xFFFFFFFF)


# ---------------------------------------------------------------- PRNG
def name_hash(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def fmix32(x):
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x85EBCA6B)) & M32
    x = x ^ (x >> np.uint64(13))
    x = (x * np.uint64(0xC2B2AE35)) & M32
    x = x ^ (x >> np.uint64(16))
    return x


def prng_uniform(name, n):
    """float64 array of n values u_k in [0,1), each an exact multiple of 2^-24."""
    k = np.arange(n, dtype=np.uint64)
    x = ((k * np.uint64(0x9E3779B9)) & M32) ^ np.uint64(name_hash(name))
    x = fmix32(x)
    return (x >> np.uint64(8)).astype(np.float64) / float(1 << 24)


def fill_values(seed_name, kind, shape, fan_in=None):
    n = int(np.prod(shape)) if len(shape) else 1
    u = prng_uniform(seed_name, n)
    if kind == "weight":
        v = (2 * u - 1) * np.sqrt(3.0 / fan_in)
    elif kind in ("bias",):
        v = (2 * u - 1) * 0.1
    elif kind in ("bn_weight", "bn_var"):
        v = 0.5 + u
    elif kind in ("bn_bias", "bn_mean"):
        v = (2 * u - 1) * 0.2
    elif kind == "input":
        v = (2 * u - 1) * 2
    else:
        raise ValueError(kind)
    return v.astype(np.float32).reshape(shape)


# ---------------------------------------------------------------- models
def vgg11_slim():
    """torchvision VGG-11 with the two 4096-wide classifier layers narrowed to 256.

    Same modules, op types and graph shape as vgg11, but 16 M instead of 133 M parameters."""
    m = torchvision.models.vgg11(weights=None)
    m.classifier[0] = nn.Linear(512 * 7 * 7, 256)
    m.classifier[3] = nn.Linear(256, 256)
    m.classifier[6] = nn.Linear(256, 1000)
    return m


MODELS = {
    # name: (constructor, input H=W, note)
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), 64, ""),
    "vgg11": (lambda: torchvision.models.vgg11(weights=None), 224,
              "224x224 is the smallest input the exporter accepts: AdaptiveAvgPool2d(7) needs a "
              "feature map whose size is a multiple of 7 (input multiple of 224). 133 M parameters: "
              "the filled model is ~530 MB."),
    "vgg11_slim": (vgg11_slim, 224,
                   "torchvision vgg11 with classifier Linear layers 25088->256->256->1000 "
                   "(instead of 4096): 16 M parameters, ~64 MB filled instead of ~530 MB; same op types."),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), 64, ""),
    "densenet121": (lambda: torchvision.models.densenet121(weights=None), 64, ""),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None), 64, ""),
    "shufflenet_v2_x0_5": (lambda: torchvision.models.shufflenet_v2_x0_5(weights=None), 64, ""),
    "googlenet": (lambda: torchvision.models.googlenet(weights=None, aux_logits=False,
                                                       transform_input=False, init_weights=False),
                  64, ""),
}


def param_kinds(model):
    """state_dict name -> (kind, fan_in or None); None kind = not a float parameter to fill."""
    kinds = {}
    for mname, mod in model.named_modules():
        pre = mname + "." if mname else ""
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            kinds[pre + "weight"] = ("weight", int(np.prod(mod.weight.shape[1:])))
            if mod.bias is not None:
                kinds[pre + "bias"] = ("bias", None)
        elif isinstance(mod, nn.BatchNorm2d):
            kinds[pre + "weight"] = ("bn_weight", None)
            kinds[pre + "bias"] = ("bn_bias", None)
            kinds[pre + "running_mean"] = ("bn_mean", None)
            kinds[pre + "running_var"] = ("bn_var", None)
            kinds[pre + "num_batches_tracked"] = (None, None)
    sd = model.state_dict()
    missing = [k for k in sd if k not in kinds]
    if missing:
        raise RuntimeError(f"state_dict entries of unknown kind: {missing[:5]}")
    return kinds


def export_one(name):
    ctor, hw, note = MODELS[name]
    torch.manual_seed(0)  # irrelevant for the result (all weights are overwritten), but tidy
    model = ctor()
    kinds = param_kinds(model)
    sd = model.state_dict()
    new_sd = {}
    for k, v in sd.items():
        kind, fan_in = kinds[k]
        if kind is None:
            new_sd[k] = v
        else:
            new_sd[k] = torch.from_numpy(fill_values(k, kind, tuple(v.shape), fan_in))
    model.load_state_dict(new_sd)
    model.eval()

    shape = [1, 3, hw, hw]
    x_np = fill_values(INPUT_SEED_NAME, "input", tuple(shape))
    x = torch.from_numpy(x_np.copy()).requires_grad_(True)
    logits = model(x)
    logits[0, TARGET].backward()
    grad = x.grad.detach().numpy().astype(np.float32)
    torch_logits = logits.detach().numpy()[0].astype(np.float32)

    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(x_np.copy()), buf, opset_version=17,
                          do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(m)

    # ---- match initializers to state_dict entries (by name, verified by value) ----
    fill = {}
    by_value = {}  # for renamed initializers: bytes -> state_dict name
    for k, v in new_sd.items():
        if kinds[k][0] is not None:
            by_value.setdefault(v.numpy().tobytes(), []).append(k)
    renamed, other_inits = {}, []
    used = set()
    for init in m.graph.initializer:
        arr = numpy_helper.to_array(init)
        if init.name in kinds and kinds[init.name][0] is not None:
            ref = new_sd[init.name].numpy()
            if arr.shape != ref.shape or not np.array_equal(arr, ref):
                raise RuntimeError(f"{name}: initializer {init.name} differs from state_dict")
            param = init.name
        elif init.data_type == onnx.TensorProto.FLOAT and arr.tobytes() in by_value:
            cands = [c for c in by_value[arr.tobytes()] if c not in used]
            if len(cands) != 1:
                raise RuntimeError(f"{name}: cannot map renamed initializer {init.name}: {cands}")
            param = cands[0]
            renamed[init.name] = param
        else:
            other_inits.append({"name": init.name, "dims": list(init.dims),
                                "data_type": init.data_type})
            continue
        used.add(param)
        kind, fan_in = kinds[param]
        entry = {"kind": kind}
        if fan_in is not None:
            entry["fan_in"] = fan_in
        if param != init.name:
            entry["param"] = param
        fill[init.name] = entry
        # strip the data, keep name / dims / data_type
        init.ClearField("raw_data")
        init.ClearField("float_data")
    unused = [k for k in new_sd if kinds[k][0] is not None and k not in used]

    os.makedirs(OUT, exist_ok=True)
    skel_path = os.path.join(OUT, f"{name}.skeleton.onnx")
    with open(skel_path, "wb") as f:
        f.write(m.SerializeToString())
    grad_file = f"{name}.grad.npy"
    np.save(os.path.join(OUT, grad_file), grad)

    ops = sorted({n.op_type for n in m.graph.node})
    n_params = int(sum(int(np.prod(new_sd[k].shape)) for k in used))
    spec = {
        "model": name,
        "torchvision_constructor": {
            "vgg11_slim": "vgg11(weights=None) with classifier[0,3,6] = Linear(25088,256), "
                          "Linear(256,256), Linear(256,1000)",
            "googlenet": "googlenet(weights=None, aux_logits=False, transform_input=False, "
                         "init_weights=False)",
        }.get(name, f"{name}(weights=None)"),
        "note": note,
        "input_shape": shape,
        "input_seed_name": INPUT_SEED_NAME,
        "target": TARGET,
        "torch_logits": [float(v) for v in torch_logits],
        "grad_file": grad_file,
        "prng_check": {"name": INPUT_SEED_NAME,
                       "u_head": [float(v) for v in prng_uniform(INPUT_SEED_NAME, 4)],
                       "input_head": [float(v) for v in x_np.reshape(-1)[:4]]},
        "fill": fill,
        "renamed_initializers": renamed,
        "other_initializers": other_inits,
        "unused_parameters": unused,
        "parameter_count": n_params,
        "onnx_ops": ops,
        "export": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "opset": 17, "do_constant_folding": False, "training": "PRESERVE",
                   "model_mode": "eval"},
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    print(f"{name}: input {shape}, {n_params} params, {len(fill)} filled initializers, "
          f"renamed {len(renamed)}, other inits {len(other_inits)}, unused {len(unused)}, "
          f"skeleton {os.path.getsize(skel_path)} B, ops {ops}", flush=True)
    return spec


def main():
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    names = sys.argv[1:] or list(MODELS)
    failed = []
    for n in names:
        try:
            export_one(n)
        except Exception as e:  # report and continue with the others
            failed.append(n)
            print(f"{n}: FAILED: {type(e).__name__}: {e}", flush=True)
    if failed:
        sys.exit(f"failed: {failed}")


if __name__ == "__main__":
    main()
