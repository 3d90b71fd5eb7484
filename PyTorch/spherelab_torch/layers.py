"""Layers with SphereLab's parameter names and conventions (Sources/Engine/Layers)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import LEARNABLE_K_INIT, Variant, sphere_conv2d


class SphereConv2d(nn.Module):
    """A bias-free convolution whose operator can switch between steps on the same weights.

    Parameters: `weight` (OC, IC, K, K) and, once the layer has been a learnable sigmoid,
    `k` (OC) — the raw k, stored under the name the engine uses (`<conv>.k`). Like the engine,
    k is created the first time it is needed and then kept (dormant) when the variant moves on.
    `sphere_capable=False` marks layers that must stay plain (residual shortcuts).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 variant=Variant("conv"), sphere_capable=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.sphere_capable = sphere_capable
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.k = None
        self.capture_input = False      # set by the angle probe for one forward pass
        self.last_input = None
        self.variant = variant
        nn.init.normal_(self.weight, 0.0, (2.0 / (in_channels * kernel_size * kernel_size)) ** 0.5)

    @property
    def variant(self):
        return self._variant

    @variant.setter
    def variant(self, v):
        if v.is_sphere and not self.sphere_capable:
            raise ValueError("this convolution cannot be a SphereConv (residual shortcuts stay plain)")
        self._variant = v
        if v.name == "lr-sigmoid" and self.k is None:
            self.k = nn.Parameter(torch.full((self.out_channels,), LEARNABLE_K_INIT,
                                             device=self.weight.device, dtype=self.weight.dtype))

    def ensure_k(self):
        """Creates a learnable k (e.g. before loading one from a snapshot)."""
        if self.k is None:
            self.k = nn.Parameter(torch.full((self.out_channels,), LEARNABLE_K_INIT,
                                             device=self.weight.device, dtype=self.weight.dtype))

    @property
    def weight_decays(self):
        """Coupled L2 applies to plain-conv weights only (spherenet.md §4)."""
        return not self._variant.is_sphere

    def forward(self, x):
        if self.capture_input:
            self.last_input = x.detach()
        return sphere_conv2d(x, self.weight, self._variant, self.stride, self.padding, self.k)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, variant={self._variant.description}")


BN_CONVENTIONS = {
    # name: (ε, weight of the new batch statistic, initial running variance, unbiased variance)
    "pytorch": (1e-5, 0.1, 1.0, True),
    "paper": (1e-3, 0.001, 0.0, False),
}


class BatchNorm2d(nn.BatchNorm2d):
    """BatchNorm with SphereLab's two running-statistics conventions (BatchNorm2D.swift):

    * `pytorch`: ε 1e-5, momentum 0.1, running variance 1 at start, unbiased variance —
      exactly nn.BatchNorm2d;
    * `paper` (the authors' TF code): ε 1e-3, decay 0.999 from zero (running variance 0 at
      start), biased variance, no debiasing.

    `freeze_statistics` gives a train-mode forward (batch statistics) that leaves the running
    averages alone, for measuring train-mode-BN accuracy on the test set.
    """

    def __init__(self, channels, statistics="pytorch"):
        if statistics not in BN_CONVENTIONS:
            raise ValueError(f"BatchNorm statistics '{statistics}': use pytorch or paper")
        eps, momentum, var0, _ = BN_CONVENTIONS[statistics]
        super().__init__(channels, eps=eps, momentum=momentum)
        self.statistics = statistics
        self.freeze_statistics = False
        with torch.no_grad():
            self.running_var.fill_(var0)

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if self.freeze_statistics:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        if self.statistics == "pytorch":
            return super().forward(x)
        # paper: the running variance takes the *biased* batch variance, which nn.BatchNorm2d
        # cannot do; normalise with batch statistics and update the averages by hand.
        y = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        with torch.no_grad():
            xf = x.detach().float()
            mean = xf.mean(dim=(0, 2, 3))
            var = xf.var(dim=(0, 2, 3), unbiased=False)
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(mean.to(self.running_mean.dtype), alpha=m)
            self.running_var.mul_(1 - m).add_(var.to(self.running_var.dtype), alpha=m)
            self.num_batches_tracked.add_(1)
        return y


class SphereNorm(nn.Module):
    """γ·x + β per channel (ChannelAffine.swift): after a SphereConv this is SphereNorm."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class MaxPoolSame(nn.Module):
    """2×2 max pool, stride 2, TensorFlow 'SAME': ⌈H/2⌉ outputs, edge windows see only the
    pixels that exist (28 → 14 → 7 → 4). ceil_mode gives exactly that."""

    def forward(self, x):
        return F.max_pool2d(x, 2, 2, ceil_mode=True)


class Score(nn.Module):
    """The 1×1 score layer's weights, (classes, D, 1, 1) as `score.weight`; the head
    (heads.py) turns features and these weights into logits and the loss."""

    def __init__(self, features, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, features, 1, 1))
        nn.init.normal_(self.weight, 0.0, (2.0 / features) ** 0.5)
