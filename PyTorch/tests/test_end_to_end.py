"""CPU end to end: `torchrun --nproc_per_node 2` (gloo) trains SphereNet-9 ×0.25 on
Fashion-MNIST, steered through the channel (pause, learning rate ×2, save, resume); SphereLab
evaluates the saved snapshot to the same accuracy and resumes it.

Steps: SPHERELAB_E2E_STEPS (default 12; the issue's CI figure is 50). Needs Fashion-MNIST
(Datasets/fashion-mnist or the Debian package); the SphereLab half needs the Swift binary
(.build/debug/spherelab, or SPHERELAB_BIN) and is skipped without it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel_client import TestClient  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPHERELAB = os.environ.get("SPHERELAB_BIN", os.path.join(REPO, ".build", "debug", "spherelab"))
STEPS = int(os.environ.get("SPHERELAB_E2E_STEPS", "12"))
EVAL_LIMIT = 500


def have_fashion_mnist():
    return any(os.path.exists(os.path.join(root, "fashion-mnist", "t10k-labels-idx1-ubyte.gz"))
               or os.path.exists(os.path.join(root, "fashion-mnist", "t10k-labels-idx1-ubyte"))
               for root in (os.path.join(REPO, "Datasets"), "/usr/share/datasets"))


@unittest.skipUnless(have_fashion_mnist(), "Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
class TorchrunTwoProcesses(unittest.TestCase):
    def test_ddp_gloo_run_steered_saved_and_read_by_spherelab(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        final = os.path.join(tmp, "final")
        # The job runs the package under test, not whatever copy pip installed.
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "PyTorch"), os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "spherelab_torch.train", "--steps", str(STEPS), "--eval-every", "0", "--eval-limit", str(EVAL_LIMIT),
               "--json", "--threads", "1", "--datasets-dir", os.path.join(REPO, "Datasets"), "--save", final]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        first = json.loads(proc.stdout.readline())
        c = TestClient(first["attach"], timeout=300)
        c.hello()
        c.wait_for(lambda m: m["type"] == "step" and m["step"] >= 2)
        for i, command in enumerate([{"command": "pause"}, {"command": "scale_lr", "factor": 2.0},
                                     {"command": "save", "name": "steered"}, {"command": "resume"}]):
            c.send({"type": "command", "id": i, **command})
            ack, _ = c.wait_for(lambda m, i=i: m.get("id") == i)
            self.assertEqual(ack["type"], "ack", ack)
            if command["command"] == "pause":
                paused_at = ack["step"]
        try:
            c.wait_for(lambda m: m["type"] == "state" and m["state"] == "FINISHED", timeout=1200)
        except AssertionError as e:
            out, err = proc.communicate(timeout=600)
            raise AssertionError(f"{e}\njob exit {proc.returncode}, stderr: {err[-3000:]}") from None
        c.close()
        out, err = proc.communicate(timeout=600)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        steps = [l for l in lines if "loss" in l]
        self.assertEqual([l["step"] for l in steps], list(range(1, STEPS + 1)))
        self.assertTrue(all(l["lr"] == 1e-3 for l in steps if l["step"] <= paused_at))
        self.assertTrue(all(l["lr"] == 2e-3 for l in steps if l["step"] > paused_at + 1))
        evaluation = [l for l in lines if "test_accuracy" in l][-1]
        self.assertEqual(evaluation["step"], STEPS)
        self.assertTrue(os.path.isdir(os.path.join(tmp, "Sessions", "steered")))
        with open(os.path.join(final, "session.json")) as fh:
            manifest = json.load(fh)
        self.assertEqual(manifest["step"], STEPS)
        self.assertEqual(manifest["pytorch"]["worldSize"], 2)
        self.assertEqual(len(manifest["metrics"]["trainLoss"]), STEPS)
        self.spherelab_half(final, evaluation, tmp)

    def spherelab_half(self, final, evaluation, tmp):
        if not os.path.exists(SPHERELAB):
            self.skipTest(f"no SphereLab binary at {SPHERELAB}: the Swift half (eval, resume) was not run")
        r = subprocess.run([SPHERELAB, "eval", "--session", final, "--eval-limit", str(EVAL_LIMIT), "--json",
                            "--datasets-dir", os.path.join(REPO, "Datasets")],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        swift = json.loads(r.stdout.strip().splitlines()[-1])
        # ±0.05 points as the issue asks; on 500 examples one example is 0.2 points, so: equal.
        self.assertLessEqual(abs(swift["test_accuracy"] - evaluation["test_accuracy"]) * 100, 0.05)
        self.assertAlmostEqual(swift["test_loss"], evaluation["test_loss"], delta=1e-4)
        r = subprocess.run([SPHERELAB, "train", "--resume", final, "--steps", "1", "--eval-limit", "50", "--json",
                            "--datasets-dir", os.path.join(REPO, "Datasets"), "--save", os.path.join(tmp, "swift-continued")],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        last = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        self.assertEqual(max(l["step"] for l in last if "loss" in l), STEPS + 1)


if __name__ == "__main__":
    unittest.main()
