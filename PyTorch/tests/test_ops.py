"""SphereConv operators: values from spherenet.md, gradients against finite differences in
float64, and the clamp's behaviour as the engine has it."""
import math
import unittest

import torch

from spherelab_torch.ops import COS_MAX, Variant, clamp_cosine, effective_k, sphere_conv2d, sphere_response

torch.set_num_threads(1)
VARIANTS = ["conv", "cosine", "linear", "sigmoid", "sigmoid:0.1", "sigmoid:0.7", "lr-sigmoid"]
GEOMETRIES = [  # (N, C, H, W, OC, kernel, stride, padding)
    (2, 2, 5, 4, 3, 3, 1, 1),
    (2, 3, 7, 6, 4, 3, 2, 1),
    (3, 2, 4, 4, 5, 4, 1, 0),
    (2, 3, 5, 5, 2, 1, 2, 0),
]


class OperatorValues(unittest.TestCase):
    def test_sigmoid_and_linear_check_values_from_spherenet_md(self):
        thetas = [0, math.pi / 6, math.pi / 4, math.pi / 3, math.pi / 2, 2 * math.pi / 3, math.pi]
        sigmoid = [1, 0.950909, 0.873266, 0.710245, 0, -0.710245, -1]
        slope = [-0.03548, -0.19341, -0.42697, -0.85266, -1.6845, -0.85266, -0.03548]
        linear = [1, 0.666667, 0.5, 0.333333, 0, -0.333333, -1]
        for theta, g, dg, lin in zip(thetas, sigmoid, slope, linear):
            c = torch.tensor(math.cos(theta), dtype=torch.float64)
            self.assertAlmostEqual(float(sphere_response(c, Variant("sigmoid", 0.3))), g, delta=1e-6)
            self.assertAlmostEqual(float(sphere_response(c, Variant("linear"))), lin, delta=1e-6)
            # dg/dθ through θ = acos(c): dg/dc · dc/dθ = dg/dc · (−sin θ), away from the poles.
            if 0 < theta < math.pi:
                cc = c.clone().requires_grad_(True)
                sphere_response(cc, Variant("sigmoid", 0.3)).backward()
                self.assertAlmostEqual(float(cc.grad) * -math.sin(theta), dg, delta=2e-5)

    def test_zero_patch_gives_zero_output(self):
        x = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
        w = torch.randn(3, 2, 3, 3, dtype=torch.float64)
        for v in ["cosine", "linear", "sigmoid", "lr-sigmoid"]:
            k = torch.full((3,), 0.7, dtype=torch.float64)
            out = sphere_conv2d(x, w, Variant.parse(v), 1, 1, k)
            self.assertTrue(torch.all(out == 0), v)

    def test_patch_norm_counts_padding_as_zero(self):
        # A 1×1 image with a 3×3 'same' kernel: the only patch is the pixel itself.
        x = torch.tensor([[[[2.0]]]], dtype=torch.float64)
        w = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
        w[0, 0, 1, 1] = 3.0
        out = sphere_conv2d(x, w, Variant("cosine"), 1, 1)
        expected = 6.0 / (math.sqrt(9 + 1e-4) * math.sqrt(4 + 1e-4))
        self.assertAlmostEqual(float(out), expected, places=12)

    def test_learnable_k_is_abs_plus_offset_with_engine_sign(self):
        raw = torch.tensor([0.7, -0.3, 0.0], dtype=torch.float64, requires_grad=True)
        k = effective_k(raw)
        self.assertEqual(k.tolist(), [0.75, 0.35, 0.05])
        k.sum().backward()
        self.assertEqual(raw.grad.tolist(), [1.0, -1.0, 1.0])   # sign(0) = +1 as the engine

    def test_variant_parsing_and_json(self):
        self.assertEqual(Variant.parse("sigmoid:0.1"), Variant("sigmoid", 0.1))
        self.assertEqual(Variant.parse("learnable"), Variant("lr-sigmoid"))
        self.assertEqual(Variant("lr-sigmoid").to_json(), {"learnableSigmoid": {}})
        self.assertEqual(Variant.from_json({"sigmoid": {"k": 0.3}}), Variant("sigmoid", 0.3))
        for bad in ["sigmoid:0", "sigmoid:x", "tanh"]:
            with self.assertRaises(ValueError):
                Variant.parse(bad)


class Clamp(unittest.TestCase):
    def test_clamped_cosine_passes_no_gradient(self):
        c = torch.tensor([0.5, 1.0, -1.0, COS_MAX, 0.999], dtype=torch.float64, requires_grad=True)
        out = clamp_cosine(c)
        self.assertEqual(out.tolist(), [0.5, COS_MAX, -COS_MAX, COS_MAX, 0.999])
        out.sum().backward()
        # At exactly ±COS_MAX the engine already counts the value as clamped.
        self.assertEqual(c.grad.tolist(), [1.0, 0.0, 0.0, 0.0, 1.0])

    def test_float32_bound_is_the_engines(self):
        c = torch.tensor([1.0], dtype=torch.float32)
        self.assertEqual(float(clamp_cosine(c)), 0.9999989867210388)   # SL_COS_MAX

    def test_patch_parallel_to_kernel_gives_finite_zero_gradient(self):
        # Norms far above √ε, so c = 1 − O(1e-10) lies beyond the clamp.
        w = (100 * torch.randn(1, 1, 3, 3, dtype=torch.float64)).requires_grad_(True)
        x = (w.detach() * 2.5).clone().requires_grad_(True)
        for v in ["cosine", "linear", "sigmoid"]:
            out = sphere_conv2d(x, w, Variant.parse(v), 1, 0)
            gx, gw = torch.autograd.grad(out.sum(), (x, w))
            self.assertTrue(torch.isfinite(gx).all() and torch.isfinite(gw).all(), v)
            self.assertEqual(float(gx.abs().max()), 0.0, v)


class Gradients(unittest.TestCase):
    """torch.autograd.gradcheck: analytic gradients against central differences in float64."""

    def test_every_operator_and_geometry(self):
        gen = torch.Generator().manual_seed(5)
        for variant in VARIANTS:
            for n, c, h, w, oc, k, s, p in GEOMETRIES:
                v = Variant.parse(variant)
                x = torch.randn(n, c, h, w, dtype=torch.float64, generator=gen, requires_grad=True)
                wt = torch.randn(oc, c, k, k, dtype=torch.float64, generator=gen, requires_grad=True)
                kr = torch.tensor([(1 if i % 2 == 0 else -1) * (0.3 + 0.2 * i) for i in range(oc)],
                                  dtype=torch.float64, requires_grad=True)
                inputs = (x, wt, kr) if v.name == "lr-sigmoid" else (x, wt)

                def f(*t):
                    return sphere_conv2d(t[0], t[1], v, s, p, t[2] if len(t) > 2 else None)
                self.assertTrue(torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5),
                                f"{variant} {n, c, h, w, oc, k, s, p}")

    def test_gradcheck_can_fail(self):
        # The check above must be able to fail: a wrong backward is caught.
        class Wrong(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * x

            @staticmethod
            def backward(ctx, g):
                return g

        x = torch.randn(4, dtype=torch.float64, requires_grad=True)
        self.assertFalse(torch.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False))


if __name__ == "__main__":
    unittest.main()
