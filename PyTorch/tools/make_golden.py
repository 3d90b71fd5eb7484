#!/usr/bin/env python3
"""Writes the golden files both test suites check: Tests/Golden/*.json.

For every SphereConv operator (conv, cosine, linear, sigmoid k=0.3, learnable sigmoid) and for
the score heads (softmax, softmax-authors, W-Softmax, GA-Softmax with margins for cosine,
linear and sigmoid), a fixed input and weights, the forward output and the gradients of
L = Σ dy·out (convs) or of the mean cross-entropy (heads), all computed in float64 by
spherelab_torch. Values are plain JSON numbers; tensors are flattened row-major with their
shape beside them; conv tensors are NCHW (PyTorch's layout — the Swift test transposes to
its (C, N, H, W)).

The inputs come from a fixed numpy generator, so rerunning this script rewrites the same
files (up to the last bit of libm); a change in the files means the maths changed.

    python3 PyTorch/tools/make_golden.py            # writes Tests/Golden/
    python3 PyTorch/tools/make_golden.py --check    # compares instead of writing
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from spherelab_torch.heads import CrossEntropyOptions, HeadKind, head_forward  # noqa: E402
from spherelab_torch.ops import Variant, sphere_conv2d  # noqa: E402

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "Tests", "Golden")
TOLERANCE = {"relative": 1e-5,
             "rule": "|actual − expected| ≤ relative · max(|expected|, rms(expected)) per element"}

CONV_CASES = [
    # (file stem, variant, geometry)
    ("conv_plain", "conv", dict(batch=2, in_channels=3, out_channels=4, height=5, width=4, kernel=3, stride=1, padding=1)),
    ("conv_cosine", "cosine", dict(batch=2, in_channels=3, out_channels=4, height=5, width=4, kernel=3, stride=1, padding=1)),
    ("conv_linear", "linear", dict(batch=2, in_channels=3, out_channels=4, height=5, width=4, kernel=3, stride=1, padding=1)),
    ("conv_sigmoid_k0.3", "sigmoid:0.3", dict(batch=2, in_channels=3, out_channels=4, height=5, width=4, kernel=3, stride=1, padding=1)),
    ("conv_lr-sigmoid", "lr-sigmoid", dict(batch=2, in_channels=3, out_channels=4, height=5, width=4, kernel=3, stride=1, padding=1)),
    # A strided case and an fc6-like 'valid' case, so padding and stride of ‖x‖ are covered.
    ("conv_linear_stride2", "linear", dict(batch=2, in_channels=2, out_channels=3, height=7, width=6, kernel=3, stride=2, padding=1)),
    ("conv_sigmoid_fc6", "sigmoid:0.3", dict(batch=3, in_channels=2, out_channels=5, height=4, width=4, kernel=4, stride=1, padding=0)),
    # ≥ 8 channels, 3×3 stride 1 'same': the shapes SphereLab runs as Winograd F(2×2, 3×3);
    # even and odd sides, so edge tiles are covered.
    ("conv_plain_winograd", "conv", dict(batch=2, in_channels=8, out_channels=9, height=6, width=6, kernel=3, stride=1, padding=1)),
    ("conv_cosine_winograd", "cosine", dict(batch=2, in_channels=8, out_channels=9, height=6, width=6, kernel=3, stride=1, padding=1)),
    ("conv_linear_winograd", "linear", dict(batch=2, in_channels=9, out_channels=8, height=5, width=6, kernel=3, stride=1, padding=1)),
    ("conv_lr-sigmoid_winograd", "lr-sigmoid", dict(batch=2, in_channels=8, out_channels=8, height=6, width=5, kernel=3, stride=1, padding=1)),
]

HEAD_CASES = [
    ("head_softmax", HeadKind("linear"), CrossEntropyOptions()),
    ("head_softmax-authors", HeadKind("linear"), CrossEntropyOptions(0.01, 1e-4)),
    ("head_w-softmax", HeadKind("weightNormalized"), CrossEntropyOptions()),
    ("head_ga-softmax_cosine_m1", HeadKind("generalizedAngular", 1, "cosine"), CrossEntropyOptions()),
    ("head_ga-softmax_cosine_m3", HeadKind("generalizedAngular", 3, "cosine"), CrossEntropyOptions()),
    ("head_ga-softmax_linear_m2", HeadKind("generalizedAngular", 2, "linear"), CrossEntropyOptions()),
    ("head_ga-softmax_sigmoid_m2", HeadKind("generalizedAngular", 2, "sigmoid", 0.3), CrossEntropyOptions()),
]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def conv_case(stem, variant_text, g, seed):
    rng = np.random.default_rng(seed)
    variant = Variant.parse(variant_text)
    x = torch.tensor(rng.standard_normal((g["batch"], g["in_channels"], g["height"], g["width"])), requires_grad=True)
    fan_in = g["in_channels"] * g["kernel"] ** 2
    w = torch.tensor(rng.standard_normal((g["out_channels"], g["in_channels"], g["kernel"], g["kernel"])) * np.sqrt(2 / fan_in),
                     requires_grad=True)
    k = None
    if variant.name == "lr-sigmoid":
        # Both signs and several sizes, so |k_raw| and per-channel handling are exercised.
        k = torch.tensor([(1 if i % 2 == 0 else -1) * (0.3 + 0.2 * i) for i in range(g["out_channels"])],
                         dtype=torch.float64, requires_grad=True)
    out = sphere_conv2d(x, w, variant, g["stride"], g["padding"], k)
    dy = torch.tensor(rng.standard_normal(tuple(out.shape)))
    (out * dy).sum().backward()
    doc = {"generator": "PyTorch/tools/make_golden.py", "kind": "conv", "name": stem, "variant": variant.cli,
           "layout": "NCHW", "geometry": g, "tolerance": TOLERANCE,
           "input_shape": list(x.shape), "input": flat(x),
           "weight_shape": list(w.shape), "weight": flat(w),
           "output_shape": list(out.shape), "output": flat(out),
           "output_gradient": flat(dy),
           "input_gradient": flat(x.grad), "weight_gradient": flat(w.grad)}
    if k is not None:
        doc["k_raw"] = flat(k)
        doc["k_gradient"] = flat(k.grad)
    return doc


def head_case(stem, head, options, seed, batch=6, features=5, classes=4):
    rng = np.random.default_rng(seed)
    f = torch.tensor(rng.standard_normal((batch, features)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((classes, features, 1, 1)) * np.sqrt(2 / features), requires_grad=True)
    labels = torch.tensor(rng.integers(0, classes, batch), dtype=torch.long)
    loss, logits = head_forward(f, w, labels, head, options, training=True)
    loss.backward()
    eval_loss, _ = head_forward(f.detach(), w.detach(), labels, head, options, training=False)
    return {"generator": "PyTorch/tools/make_golden.py", "kind": "head", "name": stem, "head": head.to_json(),
            "cross_entropy": {"labelSmoothing": options.labelSmoothing, "probabilityFloor": options.probabilityFloor},
            "tolerance": TOLERANCE, "batch": batch, "features_count": features, "classes": classes,
            "features": flat(f), "weight_shape": list(w.shape), "weight": flat(w), "labels": labels.tolist(),
            "loss": float(loss.detach()), "eval_loss": float(eval_loss), "logits": flat(logits),
            "features_gradient": flat(f.grad), "weight_gradient": flat(w.grad)}


def all_cases():
    torch.set_default_dtype(torch.float64)
    docs = {}
    for i, (stem, variant, g) in enumerate(CONV_CASES):
        docs[stem] = conv_case(stem, variant, g, seed=100 + i)
    for i, (stem, head, options) in enumerate(HEAD_CASES):
        docs[stem] = head_case(stem, head, options, seed=200 + i)
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=GOLDEN_DIR, help="folder for the JSON files (default Tests/Golden)")
    ap.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = ap.parse_args()
    docs = all_cases()
    os.makedirs(args.out, exist_ok=True)
    bad = 0
    for stem, doc in docs.items():
        path = os.path.join(args.out, stem + ".json")
        text = json.dumps(doc, indent=None, separators=(",", ":")) + "\n"
        if args.check:
            with open(path) as fh:
                old = json.load(fh)
            same = json.dumps(old, sort_keys=True) == json.dumps(doc, sort_keys=True)
            print(f"{'same' if same else 'DIFFERENT'} {path}")
            bad += not same
        else:
            with open(path, "w") as fh:
                fh.write(text)
            print(f"wrote {path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
