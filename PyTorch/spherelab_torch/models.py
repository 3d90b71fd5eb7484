"""SphereNet-N and SphereResNet-N with SphereLab's module tree (Sources/Engine/Models).

The module tree is what fixes the `state_dict()` names, so it mirrors Network.swift:
SphereNet `features.N.*` (N counts conv, norm, ReLU and pool as nn.Sequential does), `fc6.0`
(and `fc6.1` when fc6 has BatchNorm), `score.weight`; SphereResNet `stem.0/1`,
`layerS.U.conv1/bn1/conv2/bn2`, `layerS.U.shortcut.0/1`, `score.weight`.
"""
import math
import re
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn

from .layers import BatchNorm2d, MaxPoolSame, Score, SphereConv2d, SphereNorm
from .ops import Variant
from .data import SeededGenerator, mix64, _M64

NORMALIZATIONS = ("bn", "spherenorm", "spherenorm+bn")


@dataclass
class ModelSpec:
    """session.json's `setup.model` (ModelSpec.swift), field for field."""
    architecture: str = "spherenet"        # spherenet | sphereresnet
    width: float = 0.25
    depthPerStage: int = 3
    inputChannels: int = 1
    inputHeight: int = 28
    inputWidth: int = 28
    classes: int = 10
    normalization: str = "bn"
    fc6BatchNorm: bool = True
    batchNormStatistics: str = "pytorch"

    def validate(self):
        if self.architecture not in ("spherenet", "sphereresnet"):
            raise ValueError(f"architecture '{self.architecture}': use spherenet or sphereresnet")
        if not (0 < self.width <= 8):
            raise ValueError(f"width {self.width} is out of range (0, 8]")
        if self.depthPerStage < 1:
            raise ValueError("depth per stage must be at least 1")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization '{self.normalization}': use bn, spherenorm or spherenorm+bn")
        if self.batchNormStatistics not in ("pytorch", "paper"):
            raise ValueError(f"BatchNorm statistics '{self.batchNormStatistics}': use pytorch or paper")
        if self.classes < 2:
            raise ValueError(f"need at least 2 classes, got {self.classes}")

    def scaled(self, base):
        # Swift's Double.rounded() rounds half away from zero; Python's round() would not.
        return max(1, int(math.floor(base * self.width + 0.5)))

    @property
    def depth(self):
        return 3 * self.depthPerStage if self.architecture == "spherenet" else 6 * self.depthPerStage + 2

    @property
    def model_name(self):
        return f"{self.architecture}{self.depth}"

    @property
    def display_name(self):
        w = str(int(self.width)) if self.width == int(self.width) else repr(self.width)
        return f"{'SphereNet' if self.architecture == 'spherenet' else 'SphereResNet'}-{self.depth} ×{w}"

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, obj):
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(obj) - known
        if unknown:
            raise ValueError(f"setup.model has fields this version does not know: {sorted(unknown)}")
        spec = cls(**obj)
        spec.validate()
        return spec


def parse_model_name(text):
    """spherenet9 / spherenetN (N multiple of 3) / cnn9 / sphereresnet32 / resnetN (N = 6n+2)
    → (architecture, depth per stage), as ModelSpec.parseModelName."""
    t = text.lower()
    for prefix, arch in (("sphereresnet", "sphereresnet"), ("resnet", "sphereresnet"),
                         ("spherenet", "spherenet"), ("cnn", "spherenet")):
        m = re.fullmatch(prefix + r"(\d+)", t)
        if not m:
            continue
        n = int(m.group(1))
        if arch == "spherenet" and n >= 3 and n % 3 == 0 and n <= 300:
            return arch, n // 3
        if arch == "sphereresnet" and n >= 8 and (n - 2) % 6 == 0 and n <= 302:
            return arch, (n - 2) // 6
    raise ValueError(f"unknown model '{text}': use spherenet9 (or spherenetN, N a multiple of 3), cnn9, "
                     "sphereresnet32 (or sphereresnetN, N = 6n+2), resnet32")


def _pooled(n, times=3):
    for _ in range(times):
        n = (n + 1) // 2
    return n


def _append_normalization(layers, spec, channels):
    if spec.normalization in ("spherenorm", "spherenorm+bn"):
        layers.append(SphereNorm(channels))
    if spec.normalization in ("bn", "spherenorm+bn"):
        layers.append(BatchNorm2d(channels, spec.batchNormStatistics))


class ResidualUnit(nn.Module):
    """conv-BN-ReLU-conv-BN, identity or 1×1 plain conv + BN shortcut, ReLU after the sum."""

    def __init__(self, cin, cout, stride, variant, statistics):
        super().__init__()
        self.conv1 = SphereConv2d(cin, cout, 3, stride, 1, variant)
        self.bn1 = BatchNorm2d(cout, statistics)
        self.conv2 = SphereConv2d(cout, cout, 3, 1, 1, variant)
        self.bn2 = BatchNorm2d(cout, statistics)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(SphereConv2d(cin, cout, 1, stride, 0, Variant("conv"), sphere_capable=False),
                                          BatchNorm2d(cout, statistics))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class SphereNetwork(nn.Module):
    """A SphereNet-N or SphereResNet-N body plus the score weights. `forward` returns the
    features (N, D); heads.py turns them into logits and the loss."""

    def __init__(self, spec, variant=Variant("cosine")):
        super().__init__()
        spec.validate()
        self.spec = spec
        stats = spec.batchNormStatistics
        if spec.architecture == "spherenet":
            layers, cin = [], spec.inputChannels
            for base in (128, 192, 256):
                w = spec.scaled(base)
                for _ in range(spec.depthPerStage):
                    layers.append(SphereConv2d(cin, w, 3, 1, 1, variant))
                    _append_normalization(layers, spec, w)
                    layers.append(nn.ReLU())
                    cin = w
                layers.append(MaxPoolSame())
            self.features = nn.Sequential(*layers)
            h, wd = _pooled(spec.inputHeight), _pooled(spec.inputWidth)
            if h != wd:
                raise ValueError(f"fc6 needs a square map; the input gives {h}×{wd}")
            fc = spec.scaled(256)
            fc6 = [SphereConv2d(cin, fc, h, 1, 0, variant)]
            if spec.fc6BatchNorm:
                fc6.append(BatchNorm2d(fc, stats))
            self.fc6 = nn.Sequential(*fc6)
            self.feature_dimension = fc
        else:
            stem = spec.scaled(96)
            self.stem = nn.Sequential(SphereConv2d(spec.inputChannels, stem, 3, 1, 1, variant),
                                      BatchNorm2d(stem, stats), nn.ReLU())
            cin = stem
            for stage, base in enumerate((96, 192, 384)):
                w = spec.scaled(base)
                units = []
                for unit in range(spec.depthPerStage):
                    units.append(ResidualUnit(cin, w, 2 if unit == 0 and stage > 0 else 1, variant, stats))
                    cin = w
                self.add_module(f"layer{stage + 1}", nn.Sequential(*units))
            self.feature_dimension = cin
        self.score = Score(self.feature_dimension, spec.classes)

    def forward(self, x):
        if self.spec.architecture == "spherenet":
            h = self.fc6(self.features(x))
        else:
            h = self.layer3(self.layer2(self.layer1(self.stem(x))))
            h = h.mean(dim=(2, 3), keepdim=True)
        return h.flatten(1)

    # The engine's order: every convolution in layer order (residual: conv1, conv2, shortcut).
    def convolutions(self):
        return [(n, m) for n, m in self.named_modules() if isinstance(m, SphereConv2d)]

    def sphere_capable(self):
        return [(n, m) for n, m in self.convolutions() if m.sphere_capable]

    def set_variant(self, variant):
        for _, m in self.sphere_capable():
            m.variant = variant

    @property
    def variant(self):
        caps = self.sphere_capable()
        return caps[0][1].variant if caps else Variant("conv")

    def batch_norms(self):
        return [m for m in self.modules() if isinstance(m, BatchNorm2d)]

    def decaying_parameters(self):
        """Parameters that take coupled L2 now: classifier, BN/SphereNorm γ and β, plain-conv
        weights; never SphereConv weights or k (spherenet.md §4, Optimizer.swift)."""
        out = [self.score.weight]
        for m in self.modules():
            if isinstance(m, (BatchNorm2d, SphereNorm)):
                out += [m.weight, m.bias]
            elif isinstance(m, SphereConv2d) and m.weight_decays:
                out.append(m.weight)
        return out

    def trained_parameters(self):
        """What the optimizer updates at the current variants (dormant k excluded)."""
        out = []
        for name, p in self.named_parameters():
            if name.endswith(".k"):
                conv = self.get_submodule(name[:-2])
                if conv.variant.name != "lr-sigmoid":
                    continue
            out.append(p)
        return out


# --- SphereLab's initial weights ---------------------------------------------------------

# Network.swift draws initial weights from SphereLab's one generator (xoshiro256**, the same
# type that orders the data) seeded on a stream of their own.
_WEIGHT_STREAM = 0x7765696768747321


def spherelab_gaussians(seed, count):
    """The engine's normal stream for initial weights (float32): SeededGenerator.nextGaussian,
    two 53-bit uniforms per sample and the cosine half of Box–Muller, so that the same seed
    gives the same initial weights here and in SphereLab."""
    g = SeededGenerator(mix64((int(seed) ^ _WEIGHT_STREAM) & _M64))
    raw = np.fromiter((g.next() >> 11 for _ in range(2 * count)), dtype=np.uint64, count=2 * count).reshape(count, 2)
    u1 = (raw[:, 0].astype(np.float64) + 1.0) * 2.0 ** -53
    u2 = raw[:, 1].astype(np.float64) * 2.0 ** -53
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.float32)


@torch.no_grad()
def initialize_like_spherelab(model, seed):
    """He-normal weights drawn from the engine's stream in the engine's order: every conv
    (std sqrt(2/(k·k·Cin)) computed in float32), then the score weights (std sqrt(2/D))."""
    tensors = [m.weight for _, m in model.convolutions()] + [model.score.weight]
    total = sum(t.numel() for t in tensors)
    g = spherelab_gaussians(seed, total)
    at = 0
    for t in tensors:
        n = t.numel()
        fan_in = t[0].numel()
        std = np.sqrt(np.float32(2.0) / np.float32(fan_in), dtype=np.float32)
        t.copy_(torch.from_numpy((g[at:at + n] * std).astype(np.float32)).view_as(t))
        at += n


def build_model(spec, variant, seed=None):
    model = SphereNetwork(spec, variant)
    if seed is not None:
        initialize_like_spherelab(model, seed)
    return model
