#!/usr/bin/env python3
"""Compare SphereLab's training speed with PyTorch's on this machine.

Builds SphereNet-9 (and its SphereConv variants) in PyTorch the way a PyTorch user would
write it -- the patch norms by a second convolution over x*x, acos/tanh as separate ops --
and times a training step (forward, backward, SGD momentum 0.9, batch 128, 2 threads,
median after warm-up). For each configuration and variant it runs PyTorch and
`spherelab bench` one after the other and prints both figures and their ratio.

PyTorch is a yardstick, not a dependency: SphereLab's tests never import it. Install the
CPU wheel with `pip install torch` (a local find-links folder works) before running.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "fmnist-w0.25": (1, 28, 0.25),
    "fmnist-w0.5": (1, 28, 0.5),
    "cifar-w1": (3, 32, 1.0),
}
VARIANTS = ["conv", "cosine", "linear", "sigmoid", "lr-sigmoid"]


def build(torch, channels, size, width, variant):
    nn = torch.nn
    F = torch.nn.functional

    class SphereConv(nn.Module):
        def __init__(self, cin, cout, k, padding):
            super().__init__()
            self.padding = padding
            self.weight = nn.Parameter(torch.randn(cout, cin, k, k) * math.sqrt(2.0 / (k * k * cin)))
            self.register_buffer("ones", torch.ones(1, cin, k, k))
            if variant == "lr-sigmoid":
                self.k = nn.Parameter(torch.full((cout,), 0.7))

        def forward(self, x):
            u = F.conv2d(x, self.weight, padding=self.padding)
            if variant == "conv":
                return u
            wn = torch.sqrt((self.weight ** 2).sum(dim=(1, 2, 3)) + 1e-4).view(1, -1, 1, 1)
            xn = torch.sqrt(F.conv2d(x * x, self.ones, padding=self.padding) + 1e-4)
            c = (u / (wn * xn)).clamp(-1 + 1e-6, 1 - 1e-6)
            if variant == "cosine":
                return c
            theta = torch.acos(c)
            if variant == "linear":
                return 1 - 2 * theta / math.pi
            k = 0.3 if variant == "sigmoid" else (self.k.abs() + 0.05).view(1, -1, 1, 1)
            kk = torch.as_tensor(k)
            return torch.tanh((math.pi / 2 - theta) / (2 * kk)) / torch.tanh(math.pi / (4 * kk))

    layers, cin = [], channels
    for base in (128, 192, 256):
        w = max(1, round(base * width))
        for _ in range(3):
            layers += [SphereConv(cin, w, 3, 1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            cin = w
        layers.append(nn.MaxPool2d(2, ceil_mode=True))   # 'same' pooling: 28 -> 14 -> 7 -> 4
    fc = max(1, round(256 * width))
    s = size
    for _ in range(3):
        s = (s + 1) // 2
    layers += [SphereConv(cin, fc, s, 0), nn.BatchNorm2d(fc), nn.Conv2d(fc, 10, 1, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def torch_speed(torch, config, variant, steps, batch, inference=False):
    channels, size, width = CONFIGS[config]
    model = build(torch, channels, size, width, variant)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, channels, size, size)
    y = torch.randint(0, 10, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    if inference:
        model.eval()
    for i in range(3 + steps):
        start = time.perf_counter()
        if inference:
            with torch.no_grad():
                model(x)
        else:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()
        if i >= 3:
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def spherelab_speed(binary, config, variant, steps, batch, inference=False):
    out = subprocess.run([binary, "bench", "--config", config, "--variant", variant, "--steps", str(steps),
                          "--batch", str(batch), "--json"], check=True, capture_output=True, text=True).stdout
    mode = "inference" if inference else "train"
    for line in out.splitlines():
        row = json.loads(line)
        if row["mode"] == mode:
            return row["images_per_sec"]
    raise RuntimeError(f"no {mode} figure from spherelab bench:\n{out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/spherelab", help="the spherelab executable (release build)")
    parser.add_argument("--config", default="all", help="fmnist-w0.25, fmnist-w0.5, cifar-w1 or all")
    parser.add_argument("--variant", default="all", help="one of %s or all" % ", ".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement (after 3 warm-up steps)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--inference", action="store_true", help="also compare eval-mode forward passes")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is not installed: pip install torch (the CPU wheel), then run this again")
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: build it with `swift build -c release`")
    torch.set_num_threads(args.threads)
    configs = list(CONFIGS) if args.config == "all" else [args.config]
    variants = VARIANTS if args.variant == "all" else [args.variant]
    modes = [False, True] if args.inference else [False]
    print(f"PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch}, median of {args.steps} steps")
    print(f"{'config':14} {'variant':11} {'mode':10} {'PyTorch':>9} {'SphereLab':>10} {'ratio':>6}")
    for config in configs:
        for variant in variants:
            for inference in modes:
                pt = torch_speed(torch, config, variant, args.steps, args.batch, inference)
                sl = spherelab_speed(args.binary, config, variant, args.steps, args.batch, inference)
                mode = "inference" if inference else "train"
                print(f"{config:14} {variant:11} {mode:10} {pt:9.1f} {sl:10.1f} {sl / pt:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
