#!/usr/bin/env python3
"""Compare SphereLab's training (and inference) speed and memory with PyTorch's on this machine.

Builds SphereNet-9 (and its SphereConv variants) in PyTorch the way a PyTorch user would
write it -- the patch norms by a second convolution over x*x, acos/tanh as separate ops --
and times a training step (forward, backward, SGD momentum 0.9, batch 128, 2 threads).
One measurement is the median step time after 3 warm-up steps, turned into images/s;
`spherelab bench` measures its side the same way.

Every measurement runs in its own child process: PyTorch's in this script re-invoked in a
hidden worker mode, SphereLab's as `spherelab bench`. The parent collects each child's peak
resident memory (ru_maxrss, via os.wait4) and never imports torch itself, so neither
figure is inflated by the parent. The memory figure is the whole process: for PyTorch it
includes the Python interpreter and libtorch. For inference rows only PyTorch's memory is
shown, because `spherelab bench` always trains before it measures inference.

The machine's speed drifts by tens of percent over minutes, so for each configuration,
variant and mode the script alternates PyTorch, SphereLab, PyTorch, SphereLab, ... for
--rounds rounds and reports each side's BEST images/s (and largest peak memory); the ratio
is SphereLab best / PyTorch best. Compare figures from one run only.

Convolution work against the sgemm rate (issue 15): `spherelab bench` reports each
configuration's convolution work per image counted as direct convolution (2*Cin*Cout*k*k*
Hout*Wout FLOP per convolution, fc6 included; a training step counts 3x the forward pass), and
each row shows SphereLab's best images/s times that as GFLOP/s (the whole step charged to the
convolutions). The script measures OpenBLAS sgemm as the engine calls it (`spherelab bench
--sgemm`: n = 2048, its own parallel wrapper, the same threads; the median of 7 calls after 2
warm-up, as bench's images/s are medians) in a child process of its own
at the start and again at the end of the run, prints both, and finally gives every SphereLab
training row's convolution GFLOP/s as a percentage of the MEAN of the two sgemm figures.

PyTorch is a yardstick, not a dependency: SphereLab's tests never import it. Install the
CPU wheel with `pip install torch` (a local find-links folder works) before running.
"""
import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = {
    "fmnist-w0.25": (1, 28, 0.25),
    "fmnist-w0.5": (1, 28, 0.5),
    "cifar-w1": (3, 32, 1.0),
}
VARIANTS = ["conv", "cosine", "linear", "sigmoid", "lr-sigmoid"]
WARMUP = 3


class ChildFailed(Exception):
    pass


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
    for i in range(WARMUP + steps):
        start = time.perf_counter()
        if inference:
            with torch.no_grad():
                model(x)
        else:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def torch_worker(config, variant, mode, args):
    """Child side of a PyTorch measurement: one JSON line on stdout."""
    import torch
    torch.set_num_threads(args.threads)
    ips = torch_speed(torch, config, variant, args.steps, args.batch, mode == "inference")
    print(json.dumps({"config": config, "variant": variant, "mode": mode, "images_per_sec": ips,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


def run_child(cmd, what):
    """Run cmd, return (stdout, peak RSS in MB). Output goes to temporary files so the
    child cannot block on a full pipe while we sit in wait4; wait4 (rather than
    Popen.wait) is what hands back the child's own resource usage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as e:
            raise ChildFailed(f"{what}: cannot start {cmd[0]}: {e}")
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)   # reaped: stop Popen from waiting again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        how = f"exit status {proc.returncode}" if proc.returncode > 0 else f"signal {-proc.returncode}"
        tail = "\n".join(stderr.strip().splitlines()[-30:]) or "(no stderr)"
        raise ChildFailed(f"{what} failed ({how}): {' '.join(cmd)}\n--- stderr ---\n{tail}")
    # ru_maxrss is in KiB on Linux. It can never be below the parent's RSS when the child was
    # spawned (Linux carries the high-water mark across fork/exec); the parent stays small.
    return stdout, usage.ru_maxrss / 1024


def json_rows(stdout, what):
    rows = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    if not rows:
        raise ChildFailed(f"{what}: no JSON result in its output:\n{stdout.strip() or '(empty)'}")
    return rows


def torch_measure(args, config, variant, mode):
    what = f"PyTorch worker for {config} / {variant} / {mode}"
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", config, variant, mode,
           "--steps", str(args.steps), "--batch", str(args.batch), "--threads", str(args.threads)]
    stdout, rss = run_child(cmd, what)
    return json_rows(stdout, what)[-1]["images_per_sec"], rss


def sgemm_measure(args, when):
    """OpenBLAS sgemm GFLOP/s through SphereLab's own wrapper, in a child of its own."""
    what = f"spherelab bench --sgemm at the {when} of the run"
    cmd = [args.binary, "bench", "--sgemm", "--threads", str(args.threads), "--json"]
    stdout, _ = run_child(cmd, what)
    for row in json_rows(stdout, what):
        if row.get("mode") == "sgemm":
            return row
    raise ChildFailed(f"{what}: no sgemm figure in its output:\n{stdout.strip()}")


def sgemm_line(when, row):
    return (f"sgemm at the {when}: {row['sgemm_gflops']:.1f} GFLOP/s (n = {row['size']}, {row['threads']} threads, "
            f"SphereLab's parallel wrapper; median of {row['timed_calls']} calls, best {row['sgemm_gflops_best']:.1f}; "
            f"OpenBLAS kernels {row.get('openblas_kernels', '?')})")


def spherelab_measure(args, config, variant, mode):
    """Returns (images/s, peak RSS in MB or None, convolution GFLOP per image in this mode)."""
    what = f"spherelab bench for {config} / {variant} / {mode}"
    cmd = [args.binary, "bench", "--config", config, "--variant", variant, "--steps", str(args.steps),
           "--batch", str(args.batch), "--threads", str(args.threads), "--json"]
    if mode == "train":
        cmd.append("--no-inference")   # so the peak memory is the training measurement's alone
    stdout, rss = run_child(cmd, what)
    for row in json_rows(stdout, what):
        if row.get("mode") == mode:
            # bench trains before it measures inference: its peak then belongs to training
            if "conv_gflop_per_image" not in row:
                raise ChildFailed(f"{what}: no conv_gflop_per_image in its output (an older build?):\n{stdout.strip()}")
            return row["images_per_sec"], (rss if mode == "train" else None), row["conv_gflop_per_image"]
    raise ChildFailed(f"{what}: no {mode} figure in its output:\n{stdout.strip()}")


def report_sgemm_share(args, start, end, trained):
    """Every SphereLab training row's convolution GFLOP/s against the mean sgemm rate."""
    mean = (start["sgemm_gflops"] + end["sgemm_gflops"]) / 2
    shares = [{"config": c, "variant": v, "spherelab_conv_gflops": round(g, 1), "percent_of_sgemm": round(100 * g / mean, 1)}
              for c, v, g in trained]
    if args.json:
        print(json.dumps({"summary": "sgemm", "sgemm_size": start["size"], "threads": start["threads"],
                          "sgemm_gflops_start": round(start["sgemm_gflops"], 1), "sgemm_gflops_end": round(end["sgemm_gflops"], 1),
                          "sgemm_gflops_mean": round(mean, 1), "training_rows": shares}), flush=True)
        return
    print(f"SphereLab training, convolution work against the sgemm rate (the MEAN of the start and end "
          f"figures: ({start['sgemm_gflops']:.1f} + {end['sgemm_gflops']:.1f}) / 2 = {mean:.1f} GFLOP/s):", flush=True)
    for s in shares:
        print(f"{s['config']:14} {s['variant']:11} {'train':10} {s['spherelab_conv_gflops']:8.1f} GFLOP/s"
              f" {s['percent_of_sgemm']:6.1f} % of sgemm", flush=True)


def fmt(value, width, digits=1):
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def names(value, known, what):
    if value == "all":
        return list(known)
    if value not in known:
        sys.exit(f"unknown {what} {value!r}: use one of {', '.join(known)} or all")
    return [value]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/spherelab", help="the spherelab executable (release build)")
    parser.add_argument("--config", default="all", help="%s or all" % ", ".join(CONFIGS))
    parser.add_argument("--variant", default="all", help="one of %s or all" % ", ".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement (after 3 warm-up steps)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    parser.add_argument("--inference", action="store_true", help="also compare eval-mode forward passes")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements per side, alternating PyTorch and SphereLab; the best counts (default 2)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per row instead of the table (the header and the sgemm lines go to "
                             "stderr); a last object, \"summary\": \"sgemm\", holds the sgemm figures and each training "
                             "row's percentage of their mean")
    parser.add_argument("--torch-worker", nargs=3, metavar=("CONFIG", "VARIANT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("steps", "batch", "threads", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")

    if args.torch_worker:
        config, variant, mode = args.torch_worker
        names(config, CONFIGS, "config")
        names(variant, VARIANTS, "variant")
        names(mode, ["train", "inference"], "mode")
        torch_worker(config, variant, mode, args)
        return

    # The parent must not import torch: every child's ru_maxrss starts at the parent's RSS.
    if importlib.util.find_spec("torch") is None:
        sys.exit("PyTorch is not installed: pip install torch (the CPU wheel), then run this again")
    if not os.path.isfile(args.binary):
        sys.exit(f"{args.binary} not found: build it with `swift build -c release` or pass --binary")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} is not executable")
    args.binary = os.path.abspath(args.binary)
    configs = names(args.config, CONFIGS, "config")
    variants = names(args.variant, VARIANTS, "variant")
    modes = ["train", "inference"] if args.inference else ["train"]
    try:
        from importlib.metadata import version
        torch_version = version("torch")
    except Exception:
        torch_version = "(version unknown)"

    header = (f"PyTorch {torch_version} vs SphereLab, {args.threads} threads, batch {args.batch}; "
              f"images/s = BEST of {args.rounds} alternating rounds per side, each the median of "
              f"{args.steps} steps after {WARMUP} warm-up; peak RSS (MB) = largest max RSS of a "
              f"side's child processes; SL GF/s = SphereLab's best images/s x its convolution work per image "
              f"(direct convolution; training 3x the forward)")
    notes = sys.stderr if args.json else sys.stdout
    print(header, file=notes, flush=True)
    trained = []   # (config, variant, SphereLab convolution GFLOP/s) of every training row
    try:
        sgemm_start = sgemm_measure(args, "start")
        print(sgemm_line("start", sgemm_start), file=notes, flush=True)
        if not args.json:
            print(f"{'config':14} {'variant':11} {'mode':10} {'PyTorch':>9} {'SphereLab':>10} {'ratio':>6}"
                  f" {'PT MB':>7} {'SL MB':>7} {'SL GF/s':>8}", flush=True)
        for config in configs:
            for variant in variants:
                for mode in modes:
                    pt_ips, sl_ips, pt_rss, sl_rss = [], [], [], []
                    for _ in range(args.rounds):
                        ips, rss = torch_measure(args, config, variant, mode)
                        pt_ips.append(ips)
                        pt_rss.append(rss)
                        ips, rss, conv_gflop = spherelab_measure(args, config, variant, mode)
                        sl_ips.append(ips)
                        if rss is not None:
                            sl_rss.append(rss)
                    pt, sl = max(pt_ips), max(sl_ips)
                    conv_gflops = sl * conv_gflop
                    row = {"config": config, "variant": variant, "mode": mode,
                           "pytorch_ips": round(pt, 1), "spherelab_ips": round(sl, 1),
                           "ratio": round(sl / pt, 3),
                           "pytorch_rss_mb": round(max(pt_rss), 1),
                           "spherelab_rss_mb": round(max(sl_rss), 1) if sl_rss else None,
                           "conv_gflop_per_image": conv_gflop, "spherelab_conv_gflops": round(conv_gflops, 1)}
                    if mode == "train":
                        trained.append((config, variant, conv_gflops))
                    if args.json:
                        print(json.dumps(row), flush=True)
                    else:
                        print(f"{config:14} {variant:11} {mode:10} {pt:9.1f} {sl:10.1f} {sl / pt:5.2f}x"
                              f" {fmt(row['pytorch_rss_mb'], 7)} {fmt(row['spherelab_rss_mb'], 7)} {conv_gflops:8.1f}",
                              flush=True)
        sgemm_end = sgemm_measure(args, "end")
        print(sgemm_line("end", sgemm_end), file=notes, flush=True)
        report_sgemm_share(args, sgemm_start, sgemm_end, trained)
    except ChildFailed as e:
        sys.exit(str(e))
    except KeyboardInterrupt:
        sys.exit("interrupted")


if __name__ == "__main__":
    main()
