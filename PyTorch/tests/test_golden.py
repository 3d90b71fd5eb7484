"""The package against Tests/Golden/*.json (the files the Swift suite checks too), in float64
and in float32 (as training runs), each file's rule: |a − g| ≤ 1e-5·max(|g|, rms(g))."""
import glob
import json
import os
import unittest

import torch

from spherelab_torch.heads import CrossEntropyOptions, HeadKind, head_forward
from spherelab_torch.ops import Variant, sphere_conv2d

torch.set_num_threads(1)
GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "Tests", "Golden")


def mismatches(what, actual, expected, relative):
    actual = torch.as_tensor(actual, dtype=torch.float64).reshape(-1)
    expected = torch.as_tensor(expected, dtype=torch.float64).reshape(-1)
    if actual.numel() != expected.numel():
        return [f"{what}: {actual.numel()} values, expected {expected.numel()}"]
    rms = float(expected.pow(2).mean().sqrt())
    bound = relative * torch.maximum(expected.abs(), torch.tensor(rms, dtype=torch.float64))
    bad = ((actual - expected).abs() > bound).nonzero().reshape(-1).tolist()
    return [f"{what}[{i}]: {float(actual[i])} vs golden {float(expected[i])}" for i in bad[:5]]


def conv_results(doc, dtype):
    t = lambda key, shape: torch.tensor(doc[key], dtype=dtype).reshape(shape)   # noqa: E731
    g = doc["geometry"]
    x = t("input", doc["input_shape"]).requires_grad_(True)
    w = t("weight", doc["weight_shape"]).requires_grad_(True)
    variant = Variant.parse(doc["variant"])
    k = torch.tensor(doc["k_raw"], dtype=dtype, requires_grad=True) if "k_raw" in doc else None
    out = sphere_conv2d(x, w, variant, g["stride"], g["padding"], k)
    (out * t("output_gradient", doc["output_shape"])).sum().backward()
    r = {"output": out.detach(), "input_gradient": x.grad, "weight_gradient": w.grad}
    if k is not None:
        r["k_gradient"] = k.grad
    return r


def head_results(doc, dtype):
    f = torch.tensor(doc["features"], dtype=dtype).reshape(doc["batch"], doc["features_count"]).requires_grad_(True)
    w = torch.tensor(doc["weight"], dtype=dtype).reshape(doc["weight_shape"]).requires_grad_(True)
    labels = torch.tensor(doc["labels"])
    head = HeadKind.from_json(doc["head"])
    ce = CrossEntropyOptions(**doc["cross_entropy"])
    loss, logits = head_forward(f, w, labels, head, ce, True)
    loss.backward()
    eval_loss, _ = head_forward(f.detach(), w.detach(), labels, head, ce, False)
    return {"loss": loss.detach(), "eval_loss": eval_loss, "logits": logits, "features_gradient": f.grad,
            "weight_gradient": w.grad}


class Golden(unittest.TestCase):
    def files(self):
        paths = sorted(glob.glob(os.path.join(GOLDEN, "*.json")))
        self.assertGreaterEqual(len(paths), 12, f"golden files missing in {GOLDEN}: run PyTorch/tools/make_golden.py")
        return paths

    def check(self, dtype, relative):
        for path in self.files():
            with open(path) as fh:
                doc = json.load(fh)
            results = conv_results(doc, dtype) if doc["kind"] == "conv" else head_results(doc, dtype)
            bad = []
            for key, value in results.items():
                bad += mismatches(key, value, doc[key], relative)
            self.assertEqual(bad, [], os.path.basename(path))

    def test_float64_matches(self):
        self.check(torch.float64, 1e-10)

    def test_float32_matches_at_the_files_tolerance(self):
        self.check(torch.float32, 1e-5)

    def test_every_operator_is_covered(self):
        variants = set()
        heads = set()
        for path in self.files():
            with open(path) as fh:
                doc = json.load(fh)
            if doc["kind"] == "conv":
                variants.add(doc["variant"])
                self.assertIn("input_gradient", doc)
            else:
                heads.add(next(iter(doc["head"])))
        self.assertTrue({"conv", "cosine", "linear", "sigmoid", "lr-sigmoid"} <= variants, variants)
        self.assertTrue({"weightNormalized", "generalizedAngular"} <= heads, heads)

    def test_a_perturbed_value_is_caught(self):
        path = os.path.join(GOLDEN, "conv_sigmoid_k0.3.json")
        with open(path) as fh:
            doc = json.load(fh)
        results = conv_results(doc, torch.float64)
        doc["weight_gradient"][3] *= 1 + 1e-4
        self.assertNotEqual(mismatches("weight_gradient", results["weight_gradient"], doc["weight_gradient"], 1e-5), [])


if __name__ == "__main__":
    unittest.main()
