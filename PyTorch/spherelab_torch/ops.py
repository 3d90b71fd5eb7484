"""The SphereConv maths (spherenet.md §1) as differentiable tensor functions.

Every function here follows SphereLab's engine (Sources/Engine/Layers/Conv2D.swift and the
C kernels in Sources/CKernels) so that the two give the same numbers:

* norms carry ε = 1e-4 under the square root, ‖x‖ is taken over the patch with the conv's
  own padding (zeros count as 0) and stride;
* cos θ is clamped to ±COS_MAX and a clamped cosine passes *no* gradient (the engine treats
  it as a constant); at exactly ±COS_MAX the engine already counts it as clamped;
* linear and sigmoid use φ = π/2 − θ = asin(c) (the engine's form: no cancellation near
  θ = π/2);
* learnable k: k = |k_raw| + 0.05, and ∂k/∂k_raw = +1 at k_raw = 0 (the engine's sign()).
"""
import math

import torch
import torch.nn.functional as F

NORM_EPSILON = 1e-4
# The engine clamps at the float nearest 1 − 1e-6 (SL_COS_MAX); a python float compared
# with a float32 tensor is rounded to float32, which gives exactly that value.
COS_MAX = 1.0 - 1e-6
LEARNABLE_K_INIT = 0.7
LEARNABLE_K_OFFSET = 0.05
DEFAULT_SIGMOID_K = 0.3


class Variant:
    """A conv operator by its command-line name: conv, cosine, linear, sigmoid[:K], lr-sigmoid."""

    NAMES = ("conv", "cosine", "linear", "sigmoid", "lr-sigmoid")
    ALIASES = {"plain": "conv", "cnn": "conv", "cos": "cosine",
               "learnable-sigmoid": "lr-sigmoid", "learnable": "lr-sigmoid"}

    def __init__(self, name, k=None):
        if name not in self.NAMES:
            raise ValueError(f"unknown variant '{name}': use conv, cosine, linear, sigmoid, sigmoid:K (0 < K ≤ 100) or lr-sigmoid")
        if name == "sigmoid":
            k = DEFAULT_SIGMOID_K if k is None else float(k)
            if not (math.isfinite(k) and 0 < k <= 100):
                raise ValueError(f"sigmoid k {k} must be in (0, 100]")
        else:
            k = None
        self.name, self.k = name, k

    @classmethod
    def parse(cls, text):
        t = str(text).strip().lower()
        t = cls.ALIASES.get(t, t)
        if t.startswith("sigmoid:"):
            try:
                k = float(t[len("sigmoid:"):])
            except ValueError:
                raise ValueError(f"unknown variant '{text}': sigmoid:K needs a number K in (0, 100]") from None
            return cls("sigmoid", k)
        return cls(t)

    @property
    def is_sphere(self):
        return self.name != "conv"

    def __eq__(self, other):
        return isinstance(other, Variant) and (self.name, self.k) == (other.name, other.k)

    def __hash__(self):
        return hash((self.name, self.k))

    def __repr__(self):
        return self.description

    @property
    def description(self):
        """As the engine prints it: sigmoid(k=0.1) only when k is not the default."""
        if self.name == "sigmoid" and abs(self.k - DEFAULT_SIGMOID_K) > 1e-9:
            return f"sigmoid(k={self.k:g})"
        return self.name

    @property
    def cli(self):
        """The form `--variant` accepts back."""
        if self.name == "sigmoid" and abs(self.k - DEFAULT_SIGMOID_K) > 1e-9:
            return f"sigmoid:{self.k:g}"
        return self.name

    # session.json encodes ConvVariant as Swift's synthesised Codable enum does.
    def to_json(self):
        if self.name == "sigmoid":
            return {"sigmoid": {"k": self.k}}
        key = {"lr-sigmoid": "learnableSigmoid"}.get(self.name, self.name)
        return {key: {}}

    @classmethod
    def from_json(cls, obj):
        if not isinstance(obj, dict) or len(obj) != 1:
            raise ValueError(f"a conv variant must be an object with one key, got {obj!r}")
        (key, value), = obj.items()
        if key == "sigmoid":
            return cls("sigmoid", float(value["k"]))
        name = {"learnableSigmoid": "lr-sigmoid"}.get(key, key)
        return cls(name)


def clamp_cosine(c, bound=COS_MAX):
    """Clamp to [−bound, bound]; clamped entries become constants (no gradient), as in the engine."""
    inside = c.abs() < bound
    return torch.where(inside, c, c.detach().clamp(-bound, bound))


def effective_k(k_raw):
    """|k_raw| + 0.05 with gradient sign(k_raw), taking sign(0) = +1 like the engine."""
    return torch.where(k_raw >= 0, k_raw, -k_raw) + LEARNABLE_K_OFFSET


def sphere_response(c, variant, k=None):
    """g(θ) from the clamped cosine c. `k` is a tensor broadcastable to c for the learnable
    sigmoid (per output channel), ignored otherwise."""
    name = variant.name
    if name == "cosine":
        return c
    phi = torch.asin(c)            # π/2 − θ
    if name == "linear":
        return phi * (2.0 / math.pi)
    if name == "sigmoid":
        kk = variant.k
        return torch.tanh(phi / (2.0 * kk)) / math.tanh(math.pi / (4.0 * kk))
    if name == "lr-sigmoid":
        return torch.tanh(phi / (2.0 * k)) / torch.tanh(math.pi / (4.0 * k))
    raise ValueError(f"sphere_response: {name} is not a SphereConv operator")


def patch_norms(x, kernel, stride, padding):
    """‖x‖ per output position, (N, 1, OH, OW): Σ over channels first, then over each window
    (one 1-channel convolution instead of a C-channel one)."""
    s = (x * x).sum(dim=1, keepdim=True)
    ones = torch.ones(1, 1, kernel, kernel, dtype=x.dtype, device=x.device)
    return torch.sqrt(F.conv2d(s, ones, stride=stride, padding=padding) + NORM_EPSILON)


def weight_norms(w):
    """‖w‖ per output channel, (OC,)."""
    return torch.sqrt((w * w).flatten(1).sum(dim=1) + NORM_EPSILON)


def sphere_conv2d(x, weight, variant, stride=1, padding=0, k_raw=None):
    """The whole SphereConv (or plain conv for `conv`). x (N, C, H, W), weight (OC, C, K, K)."""
    u = F.conv2d(x, weight, stride=stride, padding=padding)
    if not variant.is_sphere:
        return u
    # Under autocast the convolution may run in half precision; the angle maths must not
    # (cos θ near ±1 needs float32's digits), so everything after u is float32 at least.
    dtype = torch.promote_types(u.dtype, torch.float32)
    with torch.autocast(device_type=x.device.type, enabled=False):
        u = u.to(dtype)
        xn = patch_norms(x.to(dtype), weight.shape[-1], stride, padding)
        wn = weight_norms(weight.to(dtype)).view(1, -1, 1, 1)
        c = clamp_cosine(u / (wn * xn))
        k = effective_k(k_raw.to(dtype)).view(1, -1, 1, 1) if variant.name == "lr-sigmoid" else None
        return sphere_response(c, variant, k)
