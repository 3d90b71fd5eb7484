"""Score heads and their cross-entropy (Sources/Engine/Losses, spherenet.md §3).

A head maps features f (N, D) and class weights W (C, D) to
* `logits`: the decision scores without margin (argmax = prediction), and
* `loss`: the mean cross-entropy over the batch — with the GA-Softmax margin on the target
  class when training, without it otherwise (as ScoreHead.forward(training:)).
"""
import math
from dataclasses import dataclass

import torch

from .ops import Variant

NORM_EPSILON = 1e-4
HEAD_COS_CLAMP = 1e-6
MAX_MARGIN = 64


@dataclass(frozen=True)
class CrossEntropyOptions:
    labelSmoothing: float = 0.0
    probabilityFloor: float = 0.0

    def validate(self):
        for name in ("labelSmoothing", "probabilityFloor"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                raise ValueError(f"CrossEntropyOptions.{name} is {v}, outside 0...1")


PLAIN = CrossEntropyOptions()
AUTHORS = CrossEntropyOptions(0.01, 1e-4)


@dataclass(frozen=True)
class HeadKind:
    """kind: linear | weightNormalized | generalizedAngular; op: cosine | linear | sigmoid."""
    kind: str = "linear"
    margin: int = 1
    op: str = "cosine"
    k: float = 0.3

    def validate(self):
        if self.kind not in ("linear", "weightNormalized", "generalizedAngular"):
            raise ValueError(f"unknown head kind '{self.kind}'")
        if self.kind == "generalizedAngular":
            if not (1 <= self.margin <= MAX_MARGIN):
                raise ValueError(f"margin {self.margin} is out of range 1…{MAX_MARGIN}")
            if self.op not in ("cosine", "linear", "sigmoid"):
                raise ValueError(f"unknown GA-Softmax operator '{self.op}': use cosine, linear or sigmoid")
            if self.op == "sigmoid" and not (math.isfinite(self.k) and self.k > 0):
                raise ValueError(f"GA-Softmax sigmoid k {self.k} must be a finite number > 0")

    # session.json: Swift's synthesised Codable for HeadKind / AngularOperator.
    def to_json(self):
        if self.kind != "generalizedAngular":
            return {self.kind: {}}
        op = {"sigmoid": {"k": self.k}} if self.op == "sigmoid" else {self.op: {}}
        return {"generalizedAngular": {"margin": self.margin, "op": op}}

    @classmethod
    def from_json(cls, obj):
        (key, value), = obj.items()
        if key != "generalizedAngular":
            return cls(key)
        (op, opv), = value["op"].items()
        return cls("generalizedAngular", int(value["margin"]), op, float(opv.get("k", 0.3)) if op == "sigmoid" else 0.3)


def parse_loss(text, margin=1, variant=Variant("cosine")):
    """`--loss` as LossChoice.swift: softmax, softmax-authors, w-softmax, ga-softmax[:op]."""
    parts = text.lower().split(":", 1)
    name = parts[0]
    if name == "softmax":
        return HeadKind("linear"), PLAIN
    if name == "softmax-authors":
        return HeadKind("linear"), AUTHORS
    if name == "w-softmax":
        return HeadKind("weightNormalized"), PLAIN
    if name == "ga-softmax":
        op = parts[1] if len(parts) > 1 else ""
        k = 0.3
        if op == "":
            # The operator follows the conv variant, as the engine's LossChoice does.
            op = {"linear": "linear", "sigmoid": "sigmoid", "lr-sigmoid": "sigmoid"}.get(variant.name, "cosine")
            if variant.name == "sigmoid":
                k = variant.k
        elif op not in ("cosine", "linear", "sigmoid"):
            raise ValueError(f"unknown GA-Softmax operator '{op}': use cosine, linear or sigmoid")
        if not (1 <= margin <= MAX_MARGIN):
            raise ValueError(f"margin {margin} is out of range 1…{MAX_MARGIN}")
        return HeadKind("generalizedAngular", margin, op, k), PLAIN
    raise ValueError(f"unknown loss '{text}': use softmax, softmax-authors, w-softmax or ga-softmax[:cosine|linear|sigmoid] (with --margin)")


def loss_name(head, ce):
    if head.kind == "linear":
        return "softmax-authors" if ce == AUTHORS else "softmax"
    if head.kind == "weightNormalized":
        return "w-softmax"
    return f"ga-softmax:{head.op} m={head.margin}"


def cross_entropy(z, labels, options):
    """Mean over the batch of −Σ_j y_j·log(p_j + φ), y = (1−ε)·onehot + ε/C (CrossEntropy.swift)."""
    c = z.shape[1]
    off = options.labelSmoothing / c
    on = 1.0 - options.labelSmoothing + off
    y = torch.full_like(z, off)
    y.scatter_(1, labels.view(-1, 1), on)
    logp = torch.log_softmax(z, dim=1)
    if options.probabilityFloor > 0:
        logp = torch.log(logp.exp() + options.probabilityFloor)
    # y = 0 entries are skipped, as the engine does (0·(−∞) would be NaN).
    terms = torch.where(y != 0, y * logp, torch.zeros_like(logp))
    return -terms.sum(dim=1).mean()


def _clamp_head_cosine(c):
    # ScoreHead clamps with strict comparisons (c > 1 − δ): exactly at the bound is not clamped.
    bound = 1.0 - HEAD_COS_CLAMP
    inside = c.abs() <= bound
    return torch.where(inside, c, c.detach().clamp(-bound, bound))


def angular_response(c, op, k, margin):
    """g(m·θ) from the clamped cos θ (AngularResponse.swift). For cosine the monotone
    extension ψ(θ) = (−1)ⁿ cos(mθ) − 2n via Chebyshev polynomials of c."""
    if op == "cosine":
        branch = torch.zeros_like(c)
        for j in range(1, margin):
            branch = branch + (c <= math.cos(j * math.pi / margin)).to(c.dtype)
        t_prev, t = torch.ones_like(c), c
        for _ in range(1, margin):
            t_prev, t = t, 2 * c * t - t_prev
        sign = 1 - 2 * torch.remainder(branch, 2)
        return sign * t - 2 * branch
    theta = torch.acos(c)
    if op == "linear":
        return 1 - 2 * margin * theta / math.pi
    return torch.tanh((math.pi / 2 - margin * theta) / (2 * k)) / math.tanh(math.pi / (4 * k))


def head_forward(features, weight, labels, head, options, training):
    """(loss, logits) for features (N, D), `score.weight` (C, D, 1, 1), labels (N,)."""
    w = weight.flatten(1)
    # Under autocast the head runs in float32 at least: it is N·C values, negligible.
    dtype = torch.promote_types(features.dtype, torch.float32)
    with torch.autocast(device_type=features.device.type, enabled=False):
        f, w = features.to(dtype), w.to(dtype)
        u = f @ w.t()
        if head.kind == "linear":
            z = logits = u
        elif head.kind == "weightNormalized":
            a = torch.sqrt((w * w).sum(dim=1) + NORM_EPSILON)
            z = logits = u / a
        else:
            a = torch.sqrt((w * w).sum(dim=1) + NORM_EPSILON)
            b = torch.sqrt((f * f).sum(dim=1, keepdim=True) + NORM_EPSILON)
            c = _clamp_head_cosine(u / (a * b))
            plain = b * angular_response(c, head.op, head.k, 1)
            logits = plain
            m = head.margin if training else 1
            if m > 1:
                target = b * angular_response(c, head.op, head.k, m)
                onehot = torch.zeros_like(c, dtype=torch.bool)
                onehot.scatter_(1, labels.view(-1, 1), True)
                z = torch.where(onehot, target, plain)
            else:
                z = plain
        return cross_entropy(z, labels, options), logits.detach()
