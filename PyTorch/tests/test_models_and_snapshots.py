"""Models against SphereLab's names and shapes, initial weights against the engine's, and the
snapshot format both ways (files written here must be what SphereLab writes and reads)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

from spherelab_torch.models import ModelSpec, build_model, parse_model_name, spherelab_gaussians
from spherelab_torch.ops import Variant
from spherelab_torch.snapshot import (SnapshotError, load_optimizer, load_weights, optimizer_tensors, read_safetensors,
                                      read_snapshot, weight_tensors, weights_metadata, write_snapshot)

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(HERE, "fixtures", "spherelab_snapshots.json")
SPHERELAB = os.environ.get("SPHERELAB_BIN", os.path.join(REPO, ".build", "debug", "spherelab"))
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def fixture():
    with open(FIXTURE) as fh:
        return json.load(fh)


def model_for(entry):
    spec = ModelSpec.from_json(entry["model"])
    return build_model(spec, Variant.from_json(entry["variant"]), seed=1)


class NamesAndShapes(unittest.TestCase):
    def test_state_dict_is_spherelabs_exactly(self):
        for name, entry in fixture()["snapshots"].items():
            model = model_for(entry)
            mine = {k: [DTYPES[v.dtype], list(v.shape)] for k, v in weight_tensors(model).items()}
            self.assertEqual(mine, entry["weights"], name)

    def test_optimizer_names_are_spherelabs(self):
        for name, entry in fixture()["snapshots"].items():
            model = model_for(entry)
            opt = torch.optim.Adam(model.trained_parameters(), lr=1e-3)
            x = torch.randn(2, entry["model"]["inputChannels"], entry["model"]["inputHeight"], entry["model"]["inputWidth"])
            model(x).sum().backward()
            model.score.weight.grad = torch.ones_like(model.score.weight)
            opt.step()
            mine = {k: [DTYPES[v.dtype], list(v.shape)] for k, v in optimizer_tensors(model, opt, 1).items()}
            self.assertEqual(mine, entry["optimizer"], name)

    def test_initial_weights_are_the_engines_for_the_same_seed(self):
        init = fixture()["initial_weights"]
        model = build_model(ModelSpec(), Variant("cosine"), seed=1)
        state = model.state_dict()
        for name, values in init["values"].items():
            got = state[name].reshape(-1)[:len(values)]
            self.assertTrue(torch.allclose(got, torch.tensor(values), rtol=0, atol=init["tolerance"]), name)
        other = build_model(ModelSpec(), Variant("cosine"), seed=2).state_dict()
        self.assertFalse(torch.allclose(other["features.0.weight"], state["features.0.weight"]))

    def test_gaussian_stream_statistics(self):
        g = spherelab_gaussians(1, 200001)
        self.assertEqual(len(g), 200001)
        self.assertAlmostEqual(float(g.mean()), 0.0, delta=0.01)
        self.assertAlmostEqual(float(g.std()), 1.0, delta=0.01)

    def test_model_names_parse_like_spherelab(self):
        self.assertEqual(parse_model_name("spherenet9"), ("spherenet", 3))
        self.assertEqual(parse_model_name("cnn18"), ("spherenet", 6))
        self.assertEqual(parse_model_name("sphereresnet32"), ("sphereresnet", 5))
        for bad in ("spherenet10", "resnet30", "vgg16"):
            with self.assertRaises(ValueError):
                parse_model_name(bad)

    def test_fc6_batchnorm_can_be_off(self):
        model = build_model(ModelSpec(fc6BatchNorm=False), Variant("cosine"))
        self.assertFalse(any(k.startswith("fc6.1") for k in model.state_dict()))
        self.assertIn("fc6.0.weight", model.state_dict())


class SwiftSnapshot(unittest.TestCase):
    """Against a snapshot the Swift binary writes now (skipped when it is not built)."""

    @unittest.skipUnless(os.path.exists(SPHERELAB), f"no SphereLab binary at {SPHERELAB} (swift build, or set SPHERELAB_BIN)")
    def test_swift_snapshot_loads_strictly_and_predicts_the_same(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        folder = os.path.join(tmp, "s")
        subprocess.run([SPHERELAB, "train", "--steps", "2", "--batch", "16", "--eval-limit", "50", "--variant", "lr-sigmoid",
                        "--save", folder, "--json", "--datasets-dir", os.path.join(REPO, "Datasets")],
                       check=True, capture_output=True, timeout=600)
        weights, metadata, opt, manifest = read_snapshot(folder)
        model = build_model(ModelSpec.from_json(manifest["setup"]["model"]), Variant("lr-sigmoid"))
        model.load_state_dict(weights, strict=True)
        load_weights(model, weights, metadata, folder)
        adam = torch.optim.Adam(model.trained_parameters())
        load_optimizer(model, adam, opt, folder)
        self.assertEqual(int(adam.state[model.score.weight]["step"]), 2)
        self.assertEqual(manifest["step"], 2)


class SameStepAsSpherelab(unittest.TestCase):
    """One training step from the same seed and batch on both sides: SGD's first momentum buffer
    is the whole gradient (data loss + coupled L2 + orthogonality), so SphereLab's saved
    optimizer state can be compared with this package's, parameter by parameter.

    Only the layers after the last max pool (features.27, fc6, score) are compared tightly:
    Fashion-MNIST's constant background makes exact and near ties in the max pools, where the
    gradient jumps. In float64 PyTorch alone, input noise of 1e-6 moves the gradients before
    the last pool by 3e-4…8e-3 (relative), and the engines' float32 rounding does the same; the
    losses agree to 1e-6 and the layers after the last pool to ~2e-5."""

    @unittest.skipUnless(os.path.exists(SPHERELAB), f"no SphereLab binary at {SPHERELAB} (swift build, or set SPHERELAB_BIN)")
    def test_first_step_gradients_match(self):
        from spherelab_torch import data
        from spherelab_torch.heads import PLAIN, HeadKind, head_forward
        from spherelab_torch.regularization import apply_orthogonality, apply_weight_decay
        try:
            train, _ = data.load("fashion-mnist", os.path.join(REPO, "Datasets"))
        except data.DataError as e:
            self.skipTest(str(e))
        for variant in ("lr-sigmoid", "conv"):
            tmp = tempfile.mkdtemp()
            self.addCleanup(shutil.rmtree, tmp)
            folder = os.path.join(tmp, "one")
            r = subprocess.run([SPHERELAB, "train", "--steps", "1", "--batch", "32", "--eval-limit", "10", "--variant", variant,
                                "--optimizer", "sgd", "--lr", "0.05", "--threads", "1", "--save", folder, "--json",
                                "--datasets-dir", os.path.join(REPO, "Datasets")], check=True, capture_output=True, text=True,
                               timeout=600)
            swift_loss = json.loads(r.stdout.splitlines()[0])["loss"]
            _, _, opt, _ = read_snapshot(folder)
            model = build_model(ModelSpec(), Variant(variant), seed=1)
            batch = data.EngineBatches(len(train), 32, 0, 1, 1, (False, 0, False))
            idx = batch.next_batch()[0]
            loss, _ = head_forward(model(data.normalise(train.images[idx])), model.score.weight,
                                   torch.as_tensor(train.labels[idx]), HeadKind("linear"), PLAIN, True)
            loss.backward()
            apply_orthogonality(model, 1e-4)
            apply_weight_decay(model, 5e-4)
            self.assertAlmostEqual(float(loss), swift_loss, delta=2e-5 * swift_loss, msg=variant)
            for name, p in model.named_parameters():
                mine, theirs = p.grad.reshape(-1).double(), opt[f"{name}.momentum_buffer"].double()
                rel = float((mine - theirs).norm() / theirs.norm())
                after_pools = name.startswith(("fc6.", "score.", "features.27."))
                self.assertLess(rel, 2e-4 if after_pools else 2e-2, f"{variant} {name}: relative difference {rel:.2e}")


class SnapshotFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def trained(self, variant="lr-sigmoid", optimizer="adam"):
        model = build_model(ModelSpec(width=0.0625), Variant(variant), seed=4)
        params = model.trained_parameters()
        opt = torch.optim.Adam(params, lr=1e-2) if optimizer == "adam" else torch.optim.SGD(params, lr=1e-2, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            (model(torch.randn(4, 1, 28, 28)) ** 2).sum().backward()
            opt.step()
        return model, opt

    def test_round_trip_weights_optimizer_and_manifest(self):
        for optimizer in ("adam", "sgd"):
            model, opt = self.trained(optimizer=optimizer)
            folder = os.path.join(self.tmp, f"run-{optimizer}")
            manifest = {"format": "spherelab-session", "version": 1, "step": 2}
            write_snapshot(folder, weight_tensors(model), weights_metadata(model.spec), optimizer_tensors(model, opt, 2), manifest)
            weights, metadata, ostate, m = read_snapshot(folder)
            self.assertEqual(m, manifest)
            self.assertEqual(metadata["bn_epsilon"], "1e-05")
            self.assertEqual(metadata["fc6_batchnorm"], "true")
            fresh = build_model(ModelSpec(width=0.0625), Variant("conv"), seed=9)
            load_weights(fresh, weights, metadata, folder)
            for k, v in model.state_dict().items():
                self.assertTrue(torch.equal(v, fresh.state_dict()[k]), k)
            fresh.set_variant(Variant("lr-sigmoid"))
            params = fresh.trained_parameters()
            fopt = torch.optim.Adam(params) if optimizer == "adam" else torch.optim.SGD(params, lr=1, momentum=0.9)
            load_optimizer(fresh, fopt, ostate, folder)
            for (n, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters()):
                for key, value in opt.state[p].items():
                    self.assertTrue(torch.equal(torch.as_tensor(value).float(), torch.as_tensor(fopt.state[q][key]).float()), f"{n} {key}")

    def test_save_replaces_atomically_and_leaves_no_temporaries(self):
        model, opt = self.trained()
        folder = os.path.join(self.tmp, "same")
        for step in (1, 2):
            write_snapshot(folder, weight_tensors(model), weights_metadata(model.spec), optimizer_tensors(model, opt, step),
                           {"format": "spherelab-session", "version": 1, "step": step})
        self.assertEqual(read_snapshot(folder)[3]["step"], 2)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["same"])
        with self.assertRaises(SnapshotError):
            write_snapshot(os.path.join(self.tmp, ".hidden"), {}, {}, {}, {})

    def test_files_follow_the_safetensors_layout_spherelab_checks(self):
        model, opt = self.trained()
        folder = os.path.join(self.tmp, "layout")
        write_snapshot(folder, weight_tensors(model), weights_metadata(model.spec), optimizer_tensors(model, opt, 2),
                       {"format": "spherelab-session", "version": 1})
        for name in ("weights.safetensors", "optimizer.safetensors"):
            with open(os.path.join(folder, name), "rb") as fh:
                blob = fh.read()
            n = int.from_bytes(blob[:8], "little")
            header = json.loads(blob[8:8 + n])
            self.assertEqual((8 + n) % 8, 0, "data buffer 8-byte aligned")
            spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
            self.assertEqual(spans[0][0], 0)
            for (a, b), (c, d) in zip(spans, spans[1:]):
                self.assertEqual(b, c, "no holes or overlaps")
            self.assertEqual(spans[-1][1], len(blob) - 8 - n, "no bytes after the last tensor")
            self.assertTrue(all(isinstance(v, str) for v in header["__metadata__"].values()))

    def test_mismatch_lists_every_tensor_with_hints(self):
        model = build_model(ModelSpec(width=0.0625), Variant("cosine"))
        state = weight_tensors(model)
        foreign = {}
        for k, v in state.items():
            k2 = k.replace("fc6.1.", "fc6_bn.").replace("fc6.0.weight", "fc6.weight")
            foreign["module." + k2 if k.startswith("score") else k2] = v
        foreign["score.bias"] = torch.zeros(10)
        with self.assertRaises(SnapshotError) as ctx:
            load_weights(build_model(ModelSpec(width=0.0625), Variant("cosine")), foreign, {}, "x.safetensors")
        text = str(ctx.exception)
        for name in ("fc6.1.weight", "fc6.1.bias", "fc6.1.running_mean", "fc6.1.running_var", "fc6.0.weight", "score.weight"):
            self.assertIn(f"missing {name}", text)
        self.assertIn("fc6_bn.weight [16] — looks like fc6.1.weight: SphereLab names it fc6.1.weight", text)
        self.assertIn("fc6_bn.num_batches_tracked [] — looks like fc6.1.num_batches_tracked", text)
        self.assertIn("module.score.weight", text)
        self.assertIn("looks like score.weight", text)
        self.assertIn("score.bias", text)
        self.assertIn("no bias", text)

    def test_missing_num_batches_tracked_is_tolerated(self):
        model, _ = self.trained()
        state = {k: v for k, v in weight_tensors(model).items() if not k.endswith("num_batches_tracked")}
        fresh = build_model(ModelSpec(width=0.0625), Variant("cosine"))
        load_weights(fresh, state, {}, "w")
        self.assertEqual(int(fresh.state_dict()["features.1.num_batches_tracked"]), 0)
        self.assertTrue(torch.equal(fresh.state_dict()["features.1.running_mean"], model.state_dict()["features.1.running_mean"]))

    def test_metadata_is_honoured(self):
        model = build_model(ModelSpec(width=0.0625), Variant("cosine"))
        state = weight_tensors(model)
        md = weights_metadata(model.spec)
        md["bn_epsilon"] = "0.001"
        fresh = build_model(ModelSpec(width=0.0625), Variant("cosine"))
        load_weights(fresh, state, md, "w")
        self.assertTrue(all(bn.eps == 1e-3 for bn in fresh.batch_norms()))
        for key, value in (("bn_statistics", "paper"), ("fc6_batchnorm", "false"), ("input_normalization", "x/255")):
            bad = dict(weights_metadata(model.spec), **{key: value})
            with self.assertRaises(SnapshotError) as ctx:
                load_weights(build_model(ModelSpec(width=0.0625), Variant("cosine")), state, bad, "w")
            self.assertIn("w:", str(ctx.exception))

    def test_damaged_files_are_reported_by_name(self):
        folder = os.path.join(self.tmp, "bad")
        os.mkdir(folder)
        with open(os.path.join(folder, "weights.safetensors"), "wb") as fh:
            fh.write(b"\xff" * 16)
        with self.assertRaises(SnapshotError) as ctx:
            read_safetensors(os.path.join(folder, "weights.safetensors"))
        self.assertIn("weights.safetensors", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()


class AnglesAsSpherelab(unittest.TestCase):
    """Kernel-angle statistics against those SphereLab saves. SphereLab measures them at save
    time from each conv's last forward pass, which after the final evaluation is the last
    evaluation batch (eval-mode BatchNorm): here the same weights see the same batch."""

    @unittest.skipUnless(os.path.exists(SPHERELAB), f"no SphereLab binary at {SPHERELAB} (swift build, or set SPHERELAB_BIN)")
    def test_angle_statistics_match(self):
        """The engine measures a layer's angles right after a training step: the patches are
        the inputs that step's forward pass (train-mode BatchNorm, weights before the update)
        gave the layer, the kernels are the updated weights. The same here, from the same seed
        and the same first batch, must give the same histograms."""
        from spherelab_torch import angles, data
        try:
            train, _ = data.load("fashion-mnist", os.path.join(REPO, "Datasets"))
        except data.DataError as e:
            self.skipTest(str(e))
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        folder = os.path.join(tmp, "angles")
        batch = 32
        subprocess.run([SPHERELAB, "train", "--steps", "1", "--batch", str(batch), "--eval-limit", "200", "--variant", "sigmoid",
                        "--threads", "1", "--save", folder, "--json", "--datasets-dir", os.path.join(REPO, "Datasets")],
                       check=True, capture_output=True, timeout=600)
        weights, metadata, _, manifest = read_snapshot(folder)
        spec, seed = ModelSpec.from_json(manifest["setup"]["model"]), manifest["setup"]["seed"]
        before = build_model(spec, Variant("sigmoid"), seed=seed)
        before.train()
        for _, conv in before.sphere_capable():
            conv.capture_input = True
        first = data.engine_order(len(train.images), seed, 0)[:batch]
        with torch.no_grad():
            before(data.normalise(train.images[first]))
        after = build_model(spec, Variant("sigmoid"))
        load_weights(after, weights, metadata, folder)
        for (name, seen), (_, conv) in zip(before.sphere_capable(), after.sphere_capable()):
            conv.last_input = seen.last_input
            mine = angles.measure(name, conv, manifest["step"])
            theirs = manifest["angleHistory"][name]["entries"][-1]
            self.assertEqual(theirs["step"], 1)
            self.assertEqual(mine["variant"], theirs["variant"])
            self.assertEqual(sum(mine["patchAngles"]), sum(theirs["patchAngles"]), name)
            # Counts may move between neighbouring bins where an angle sits on a bin edge.
            moved = sum(abs(a - b) for a, b in zip(mine["patchAngles"], theirs["patchAngles"]))
            self.assertLessEqual(moved, 4, f"{name}: {moved} patch-angle counts differ")
            moved = sum(abs(a - b) for a, b in zip(mine["kernelAngles"], theirs["kernelAngles"]))
            self.assertLessEqual(moved, 2, f"{name}: {moved} kernel-angle counts differ")
            for a, b in zip(mine["percentiles"], theirs["percentiles"]):
                self.assertAlmostEqual(a, b, delta=1e-3, msg=name)


class ResumeAcross(unittest.TestCase):
    """A run moves both ways exactly: after a resume on the other side, the next step sees the
    same weights and the same batch, so its loss (measured before the update) equals the loss
    of the uninterrupted run on the first side."""

    def losses(self, out):
        return {l["step"]: l["loss"] for l in map(json.loads, filter(str.strip, out.splitlines())) if "loss" in l}

    @unittest.skipUnless(os.path.exists(SPHERELAB), f"no SphereLab binary at {SPHERELAB} (swift build, or set SPHERELAB_BIN)")
    def test_swift_to_torch_and_back(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        common = ["--batch", "32", "--eval-limit", "20", "--json", "--threads", "1",
                  "--datasets-dir", os.path.join(REPO, "Datasets")]
        env = dict(os.environ, OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "PyTorch"), os.environ.get("PYTHONPATH", "")]))
        torch_cmd = [sys.executable, "-m", "spherelab_torch.train", "--no-attach"]

        def run(cmd):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            return self.losses(r.stdout)

        straight_swift = run([SPHERELAB, "train", "--steps", "3", "--variant", "lr-sigmoid"] + common)
        run([SPHERELAB, "train", "--steps", "2", "--variant", "lr-sigmoid", "--save", os.path.join(tmp, "s2")] + common)
        torch_after_swift = run(torch_cmd + ["--resume", os.path.join(tmp, "s2"), "--steps", "1"] + common[2:])
        self.assertAlmostEqual(torch_after_swift[3], straight_swift[3], delta=2e-5 * straight_swift[3])

        straight_torch = run(torch_cmd + ["--steps", "3", "--variant", "lr-sigmoid"] + common)
        run(torch_cmd + ["--steps", "2", "--variant", "lr-sigmoid", "--save", os.path.join(tmp, "t2")] + common)
        swift_after_torch = run([SPHERELAB, "train", "--resume", os.path.join(tmp, "t2"), "--steps", "1"] + common[2:])
        self.assertAlmostEqual(swift_after_torch[3], straight_torch[3], delta=2e-5 * straight_torch[3])


class ManifestSchema(unittest.TestCase):
    def test_batch_above_spherelabs_maximum_travels_apart(self):
        from spherelab_torch.manifest import History, Hyper, build_manifest
        h = Hyper()
        h.batchSize = 4096
        m = build_manifest(name="n", run_name="r", dataset="cifar-10", spec=ModelSpec(), seed=1,
                           augmentation=(True, 4, False), evaluation_limit=None, hyper=h, layer_variants={},
                           step=3, epoch=0, position={"seed": 1, "epoch": 0, "index": 0, "rng": [1, 2, 3, 4]},
                           fingerprint="0", total_steps=None, history=History(), extra={})
        self.assertEqual(m["hyper"]["batchSize"], 1024)      # SphereLab opens it
        self.assertEqual(m["pytorch"]["batchSize"], 4096)    # this package resumes with its own
        self.assertNotIn("evaluationLimit", m["setup"])      # optionals absent, as Swift encodes them
        self.assertEqual(Hyper.from_json(m["hyper"]).to_json(), m["hyper"])

    def test_hyper_reads_what_spherelab_writes(self):
        from spherelab_torch.heads import HeadKind
        from spherelab_torch.manifest import Hyper
        h = Hyper.from_json({"batchSize": 128, "crossEntropy": {"labelSmoothing": 0.01, "probabilityFloor": 0.0001},
                             "evalEvery": 500, "head": {"generalizedAngular": {"margin": 2, "op": {"sigmoid": {"k": 0.3}}}},
                             "optimizer": {"sgd": {"momentum": 0.8}}, "orthogonality": 0.0001,
                             "schedule": {"base": 0.001, "factor": 0.1, "milestones": [34000, 54000]}, "statsEvery": 25,
                             "variant": {"learnableSigmoid": {}}, "weightDecay": 0.0005})
        self.assertEqual((h.optimizer, h.momentum, h.variant.name), ("sgd", 0.8, "lr-sigmoid"))
        self.assertEqual(h.head, HeadKind("generalizedAngular", 2, "sigmoid", 0.3))
        self.assertAlmostEqual(h.rate(34000), 1e-4)
        self.assertAlmostEqual(h.rate(33999), 1e-3)
