"""Orthogonality penalty and coupled weight decay (spherenet.md §4, Orthogonality.swift,
Optimizer.swift).

Both are applied the engine's way, to the gradients after the data-loss backward (and after
DDP has averaged them), so the optimizer itself runs with weight_decay = 0:
* orthogonality: for every sphere-capable conv *currently* a SphereConv (fc6 included),
  W as (OC, K), L = λ·‖W Wᵀ − I‖²_F, ∂L/∂W = 4λ·(W Wᵀ − I)·W;
* coupled L2: grad += wd·p for the decaying parameters (classifier, BN/SphereNorm γ and β,
  plain-conv weights), reported as ½·wd·Σp².
Their values are reported apart from the data loss, as the engine's `regularization`.
"""
import torch


@torch.no_grad()
def apply_orthogonality(model, weight):
    if weight <= 0:
        return 0.0
    total = 0.0
    for _, conv in model.sphere_capable():
        if not conv.variant.is_sphere:
            continue
        w = conv.weight.flatten(1)
        gram = w @ w.t()
        gram.diagonal().sub_(1.0)
        total += weight * float((gram * gram).sum())
        g = (4.0 * weight) * (gram @ w)
        if conv.weight.grad is None:
            conv.weight.grad = g.view_as(conv.weight).clone()
        else:
            conv.weight.grad.add_(g.view_as(conv.weight))
    return total


def orthogonality_loss(model, weight):
    """The same penalty as a differentiable value (for tests against autograd)."""
    total = 0.0
    for _, conv in model.sphere_capable():
        if conv.variant.is_sphere:
            w = conv.weight.flatten(1)
            gram = w @ w.t() - torch.eye(w.shape[0], dtype=w.dtype, device=w.device)
            total = total + weight * (gram * gram).sum()
    return total


@torch.no_grad()
def apply_weight_decay(model, wd):
    if wd <= 0:
        return 0.0
    total = 0.0
    for p in model.decaying_parameters():
        total += float((p.float() * p.float()).sum())
        if p.grad is not None:
            p.grad.add_(p, alpha=wd)
    return 0.5 * wd * total
