"""Kernel-angle statistics with AngleStatistics.swift's definitions:

* θ(w, x) between every kernel and an evenly spread sample of 96 patches of the last
  forward's input (positions m = i·M/S, same ‖·‖ ε 1e-4 as the conv, NaN cosines count as 0),
  as a 48-bin histogram over [0, π] and the 10/25/50/75/90th percentiles
  (sorted[min(n−1, ⌊q·n⌋)]);
* the pairwise angles between the layer's unit kernels (upper triangle), same bins.
"""
import math

import torch
import torch.nn.functional as F

BINS = 48
PERCENTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
SAMPLE_POSITIONS = 96
EPS = 1e-4


def _angles(c):
    c = torch.nan_to_num(c, nan=0.0).clamp(-1.0, 1.0)
    return torch.acos(c)


def _histogram(theta):
    b = (theta / math.pi * BINS).floor().long().clamp(0, BINS - 1)
    return torch.bincount(b.reshape(-1), minlength=BINS).tolist()


@torch.no_grad()
def measure(name, conv, step):
    """The statistics dict (LayerAngles' JSON) for one conv whose last input was captured."""
    x = conv.last_input
    if x is None:
        return None
    x = x.float()
    w = conv.weight.detach().float()
    oc, k = w.shape[0], w[0].numel()
    kernel, stride, padding = conv.kernel_size, conv.stride, conv.padding
    n = x.shape[0]
    oh = (x.shape[2] + 2 * padding - kernel) // stride + 1
    ow = (x.shape[3] + 2 * padding - kernel) // stride + 1
    positions = n * oh * ow
    samples = min(SAMPLE_POSITIONS, positions)
    if samples == 0:
        return None
    ms = [i * positions // samples for i in range(samples)]
    img = torch.tensor([m // (oh * ow) for m in ms], device=x.device)
    oy = torch.tensor([(m // ow) % oh for m in ms], device=x.device)
    ox = torch.tensor([m % ow for m in ms], device=x.device)
    # The patches of the sampled positions only: unfold one image at a time would be wasteful
    # for big inputs, so pad once and gather windows.
    xp = F.pad(x[img], (padding, padding, padding, padding))
    patches = torch.stack([xp[i, :, oy[i] * stride:oy[i] * stride + kernel, ox[i] * stride:ox[i] * stride + kernel]
                           for i in range(samples)]).reshape(samples, k)
    wn = torch.sqrt((w.reshape(oc, k) ** 2).sum(1) + EPS)
    xn = torch.sqrt((patches ** 2).sum(1) + EPS)
    cos = (patches @ w.reshape(oc, k).t()) / (xn[:, None] * wn[None, :])
    theta = _angles(cos).reshape(-1)
    hist = _histogram(theta)
    srt = torch.sort(theta).values
    cnt = srt.numel()
    pct = [float(srt[min(cnt - 1, int(q * cnt))]) for q in PERCENTILES]
    unit = w.reshape(oc, k) / wn[:, None]
    kernel_hist = [0] * BINS
    if oc > 1:
        gram = unit @ unit.t()
        iu = torch.triu_indices(oc, oc, offset=1, device=gram.device)
        kernel_hist = _histogram(_angles(gram[iu[0], iu[1]]))
    return {"layer": name, "variant": conv.variant.description, "step": int(step),
            "patchAngles": hist, "kernelAngles": kernel_hist, "percentiles": pct}


class AngleHistory:
    """Per layer, entries over time; past 256 entries old ones merge pairwise (patch
    histograms summed, percentiles averaged, the newest kept), as Telemetry.swift's."""

    CAPACITY = 256

    def __init__(self, entries=None):
        self.entries = list(entries or [])

    def append(self, a):
        self.entries.append(a)
        if len(self.entries) <= self.CAPACITY:
            return
        merged, i, e = [], 0, self.entries
        while i + 1 < len(e) - 1:
            a2, b = dict(e[i + 1]), e[i]
            a2["patchAngles"] = [x + y for x, y in zip(a2["patchAngles"], b["patchAngles"])]
            a2["percentiles"] = [(x + y) / 2 for x, y in zip(a2["percentiles"], b["percentiles"])]
            merged.append(a2)
            i += 2
        merged.extend(e[i:])
        self.entries = merged

    def to_json(self):
        return {"entries": self.entries}
