"""Score heads, BatchNorm conventions, SphereNorm and the regularisers."""
import math
import unittest

import torch
import torch.nn as nn

from spherelab_torch.heads import (AUTHORS, PLAIN, HeadKind, angular_response, cross_entropy,
                                   head_forward, parse_loss)
from spherelab_torch.layers import BatchNorm2d, SphereNorm
from spherelab_torch.models import ModelSpec, build_model
from spherelab_torch.ops import Variant
from spherelab_torch.regularization import apply_orthogonality, apply_weight_decay, orthogonality_loss

torch.set_num_threads(1)
HEADS = [HeadKind("linear"), HeadKind("weightNormalized"), HeadKind("generalizedAngular", 1, "cosine"),
         HeadKind("generalizedAngular", 3, "cosine"), HeadKind("generalizedAngular", 4, "cosine"),
         HeadKind("generalizedAngular", 2, "linear"), HeadKind("generalizedAngular", 2, "sigmoid", 0.3)]


class Heads(unittest.TestCase):
    def test_gradients_against_finite_differences(self):
        gen = torch.Generator().manual_seed(3)
        labels = torch.tensor([0, 2, 1, 3, 2])
        for head in HEADS:
            for options in (PLAIN, AUTHORS):
                f = torch.randn(5, 6, dtype=torch.float64, generator=gen, requires_grad=True)
                w = torch.randn(4, 6, 1, 1, dtype=torch.float64, generator=gen, requires_grad=True)
                self.assertTrue(torch.autograd.gradcheck(
                    lambda a, b: head_forward(a, b, labels, head, options, True)[0], (f, w), eps=1e-6, atol=1e-8, rtol=1e-5),
                    f"{head} {options}")

    def test_authors_loss_floor(self):
        # With both tweaks the loss cannot fall below ≈ 0.0701 for 10 classes; the minimum sits at
        # p_j + φ = y_j·(1 + Cφ), not at one-hot p (which costs ≈ 0.0828).
        p = torch.full((1, 10), 0.001 * 1.001 - 1e-4, dtype=torch.float64)
        p[0, 3] = 0.991 * 1.001 - 1e-4
        best = float(cross_entropy(torch.log(p), torch.tensor([3]), AUTHORS))
        floor = -(0.991 * math.log(0.991) + 9 * 0.001 * math.log(0.001)) - math.log(1.001)   # H(y) − ln(1 + Cφ)
        self.assertAlmostEqual(best, floor, delta=1e-12)
        self.assertAlmostEqual(floor, 0.0701, delta=1e-4)
        z = torch.full((1, 10), -1000.0, dtype=torch.float64)
        z[0, 3] = 1000.0
        self.assertAlmostEqual(float(cross_entropy(z, torch.tensor([3]), AUTHORS)), 0.08279, delta=1e-4)
        for _ in range(20):   # random logits never beat the floor
            self.assertGreater(float(cross_entropy(torch.randn(1, 10, dtype=torch.float64) * 5, torch.tensor([3]), AUTHORS)), best)
        self.assertAlmostEqual(float(cross_entropy(torch.zeros(2, 10, dtype=torch.float64), torch.tensor([1, 2]), PLAIN)),
                               math.log(10), places=12)

    def test_w_softmax_formula(self):
        f = torch.randn(3, 4, dtype=torch.float64)
        w = torch.randn(5, 4, 1, 1, dtype=torch.float64)
        _, logits = head_forward(f, w, torch.tensor([0, 1, 2]), HeadKind("weightNormalized"), PLAIN, True)
        expected = f @ w.flatten(1).t() / torch.sqrt((w.flatten(1) ** 2).sum(1) + 1e-4)
        self.assertTrue(torch.allclose(logits, expected, rtol=1e-14, atol=0))

    def test_cosine_margin_extension_is_monotone_and_continuous(self):
        theta = torch.linspace(0, math.pi, 2001, dtype=torch.float64)
        for m in (1, 2, 3, 4):
            psi = angular_response(torch.cos(theta), "cosine", 0.3, m)
            self.assertTrue(torch.all(psi[1:] <= psi[:-1] + 1e-12), m)
            self.assertLess(float((psi[1:] - psi[:-1]).abs().max()), 0.02, m)
            self.assertAlmostEqual(float(psi[0]), 1.0, places=12)
            self.assertAlmostEqual(float(psi[-1]), -(2 * m - 1), places=9)

    def test_margin_only_in_training_and_only_on_the_target(self):
        f = torch.randn(4, 6, dtype=torch.float64)
        w = torch.randn(3, 6, 1, 1, dtype=torch.float64)
        y = torch.tensor([0, 1, 2, 0])
        head = HeadKind("generalizedAngular", 3, "cosine")
        train, logits = head_forward(f, w, y, head, PLAIN, True)
        evaluation, logits2 = head_forward(f, w, y, head, PLAIN, False)
        plain, _ = head_forward(f, w, y, HeadKind("generalizedAngular", 1, "cosine"), PLAIN, True)
        self.assertTrue(torch.equal(logits, logits2))
        self.assertEqual(float(evaluation), float(plain))
        self.assertGreater(float(train), float(evaluation))

    def test_parse_loss_follows_spherelab(self):
        self.assertEqual(parse_loss("softmax-authors")[1], AUTHORS)
        self.assertEqual(parse_loss("ga-softmax", 2, Variant("linear"))[0], HeadKind("generalizedAngular", 2, "linear"))
        self.assertEqual(parse_loss("ga-softmax", 1, Variant("sigmoid", 0.1))[0], HeadKind("generalizedAngular", 1, "sigmoid", 0.1))
        with self.assertRaises(ValueError):
            parse_loss("ga-softmax", 0)
        with self.assertRaises(ValueError):
            parse_loss("hinge")


class BatchNormConventions(unittest.TestCase):
    def test_pytorch_convention_is_nn_batchnorm(self):
        x = torch.randn(8, 3, 5, 5)
        ours, ref = BatchNorm2d(3, "pytorch"), nn.BatchNorm2d(3)
        for _ in range(3):
            self.assertTrue(torch.allclose(ours(x), ref(x)))
        self.assertTrue(torch.allclose(ours.running_var, ref.running_var))
        self.assertEqual(ours.eps, 1e-5)

    def test_paper_convention_biased_decay_from_zero(self):
        bn = BatchNorm2d(2, "paper")
        self.assertEqual(bn.eps, 1e-3)
        self.assertEqual(bn.running_var.tolist(), [0.0, 0.0])
        x = torch.randn(4, 2, 3, 3, dtype=torch.float64)
        bn = bn.double()
        y = bn(x)
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        self.assertTrue(torch.allclose(bn.running_mean, 0.001 * mean))
        self.assertTrue(torch.allclose(bn.running_var, 0.001 * var))
        expected = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + 1e-3)
        self.assertTrue(torch.allclose(y, expected))
        self.assertEqual(int(bn.num_batches_tracked), 1)

    def test_frozen_statistics_leave_running_averages(self):
        bn = BatchNorm2d(2, "pytorch")
        bn.freeze_statistics = True
        bn(torch.randn(4, 2, 3, 3))
        self.assertEqual(bn.running_mean.tolist(), [0.0, 0.0])
        self.assertEqual(int(bn.num_batches_tracked), 0)

    def test_spherenorm_gradients(self):
        sn = SphereNorm(3).double()
        with torch.no_grad():
            sn.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
            sn.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
        x = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda t: sn(t), (x,)))


class Regularisation(unittest.TestCase):
    def test_orthogonality_gradient_is_autograds(self):
        model = build_model(ModelSpec(width=0.0625), Variant("cosine"), seed=3).double()
        for _, conv in model.convolutions():
            conv.weight.grad = None
        value = apply_orthogonality(model, 1e-4)
        manual = {n: c.weight.grad.clone() for n, c in model.convolutions()}
        for _, conv in model.convolutions():
            conv.weight.grad = None
        loss = orthogonality_loss(model, 1e-4)
        loss.backward()
        self.assertAlmostEqual(value, float(loss), delta=1e-12 * max(1.0, value))
        for n, c in model.convolutions():
            self.assertTrue(torch.allclose(manual[n], c.weight.grad, rtol=1e-10, atol=1e-14), n)

    def test_orthogonality_skips_plain_convs(self):
        model = build_model(ModelSpec(width=0.0625), Variant("conv"), seed=3)
        self.assertEqual(apply_orthogonality(model, 1e-4), 0.0)

    def test_weight_decay_policy(self):
        model = build_model(ModelSpec(width=0.0625, normalization="spherenorm+bn"), Variant("lr-sigmoid"), seed=3)
        names = {id(p): n for n, p in model.named_parameters()}
        decaying = {names[id(p)] for p in model.decaying_parameters()}
        self.assertIn("score.weight", decaying)
        self.assertIn("features.1.weight", decaying)    # SphereNorm γ
        self.assertIn("features.2.bias", decaying)      # BN β
        self.assertFalse(any(n.endswith(".k") for n in decaying))
        self.assertNotIn("features.0.weight", decaying)  # SphereConv weights: none
        model.set_variant(Variant("conv"))
        decaying = {names[id(p)] for p in model.decaying_parameters()}
        self.assertIn("features.0.weight", decaying)     # plain conv weights do decay
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        value = apply_weight_decay(model, 5e-4)
        expected = 0.5 * 5e-4 * sum(float((p.double() ** 2).sum()) for p in model.decaying_parameters())
        self.assertAlmostEqual(value, expected, delta=1e-6 * expected)   # summed in float32
        self.assertTrue(torch.allclose(model.score.weight.grad, 5e-4 * model.score.weight))


if __name__ == "__main__":
    unittest.main()
