"""`spherelab attach` as a user runs it (issue 14's CI test): `torchrun --nproc_per_node 2` (gloo)
trains SphereNet-9 ×0.25 on Fashion-MNIST for 50 steps; the Swift workbench, attached in tmux,
shows the loss chart advancing, pauses the job, doubles its learning rate, has it evaluate and
save; `spherelab eval --session` on that save gives the job's own test accuracy (±0.05 points)
and the snapshot resumes in `spherelab train --resume`. Then the Swift client against a channel
bound beyond loopback: refused without the token, attached with the token file.

Needs the SphereLab binary (SPHERELAB_BIN or .build/debug/spherelab), tmux and Fashion-MNIST;
skipped, with the reason, without them. Steps: SPHERELAB_ATTACH_STEPS (default 50).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from spherelab_torch.channel import Channel

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPHERELAB = os.environ.get("SPHERELAB_BIN", os.path.join(REPO, ".build", "debug", "spherelab"))
STEPS = int(os.environ.get("SPHERELAB_ATTACH_STEPS", "50"))
EVAL_LIMIT = 500
DATASETS = os.path.join(REPO, "Datasets")


def have_fashion_mnist():
    return any(os.path.exists(os.path.join(root, "fashion-mnist", name))
               for root in (DATASETS, "/usr/share/datasets")
               for name in ("t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"))


def missing_requirement():
    if not os.access(SPHERELAB, os.X_OK):
        return f"no SphereLab binary at {SPHERELAB} (swift build, or set SPHERELAB_BIN)"
    if shutil.which("tmux") is None:
        return "tmux is not installed (apt-get install tmux)"
    return None


class Tmux:
    """One tmux session on a private server socket, so the test never touches a user's tmux."""

    def __init__(self, test, command, width, height):
        self.socket = f"spherelab-test-{os.getpid()}-{id(self)}"
        self.name = "attach"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        command + "; echo EXIT=$?; sleep 600"], check=True)
        test.addCleanup(subprocess.run, ["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def screen(self):
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, predicate, what, timeout=90):
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if predicate(s):
                return s
            time.sleep(0.25)
        raise AssertionError(f"the screen never showed {what}; last screen:\n{self.screen()}")


def header_step(screen):
    m = re.search(r"step (\d+)", screen.splitlines()[0] if screen else "")
    return int(m.group(1)) if m else -1


def loss_panel(screen):
    """The rows of the Loss chart (left column, between its title and the panel's bottom)."""
    lines = screen.splitlines()
    start = next((i for i, l in enumerate(lines) if "Loss" in l), None)
    if start is None:
        return ""
    rows = []
    for l in lines[start + 1:]:
        if l.startswith("└"):
            break
        rows.append(l[:40])
    return "\n".join(rows)


@unittest.skipUnless(have_fashion_mnist(), "Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
class AttachToATorchrunJob(unittest.TestCase):
    def setUp(self):
        why = missing_requirement()
        if why:
            self.skipTest(why)

    def test_workbench_steers_a_two_process_gloo_job_and_its_snapshot_comes_back(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "PyTorch"), os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "spherelab_torch.train", "--model", "spherenet9", "--width", "0.25", "--steps", str(STEPS),
               "--eval-every", "0", "--eval-limit", str(EVAL_LIMIT), "--json", "--threads", "1",
               "--datasets-dir", DATASETS, "--linger", "5"]
        job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp, text=True)
        self.addCleanup(lambda: job.poll() is None and job.kill())
        address = json.loads(job.stdout.readline())["attach"]

        tm = Tmux(self, f"cd {tmp} && {SPHERELAB} attach {address}", 100, 40)
        first = tm.wait_for(lambda s: "RUNNING" in s and header_step(s) >= 2, "the job RUNNING past step 2")
        chart_before, step_before = loss_panel(first), header_step(first)
        advanced = tm.wait_for(lambda s: header_step(s) >= step_before + 3, "the step advancing")
        self.assertNotEqual(loss_panel(advanced), chart_before, "the loss chart did not change while the job trained")

        tm.keys("Space")
        paused = tm.wait_for(lambda s: "PAUSED" in s.splitlines()[0], "PAUSED after space")
        paused_at = header_step(paused)
        tm.keys("+")
        tm.wait_for(lambda s: "lr 0.002" in s, "the learning rate doubled (lr 0.002)")
        tm.keys("e")
        tm.wait_for(lambda s: "test accuracy" in s, "the job's evaluation")
        tm.keys("s")
        tm.wait_for(lambda s: "Save snapshot" in s, "the save dialog")
        tm.keys(*(["BSpace"] * 80))
        tm.keys("attached", "Enter")
        tm.wait_for(lambda s: "saved" in s and "attached" in s, "the job's save confirmed")
        self.assertEqual(header_step(tm.screen()), paused_at, "the job moved while paused")
        tm.keys("Space")
        tm.wait_for(lambda s: "FINISHED" in s or "DISCONNECTED" in s, "the job finishing", timeout=600)
        tm.keys("q")
        tm.wait_for(lambda s: "EXIT=0" in s and "the job goes on" in s, "attach quitting cleanly")

        out, err = job.communicate(timeout=300)
        self.assertEqual(job.returncode, 0, err[-3000:])
        lines = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
        steps = {l["step"]: l for l in lines if "loss" in l}
        self.assertEqual(sorted(steps), list(range(1, STEPS + 1)))
        self.assertTrue(all(steps[s]["lr"] == 1e-3 for s in steps if s <= paused_at))
        self.assertTrue(all(steps[s]["lr"] == 2e-3 for s in steps if s > paused_at))
        own = [l for l in lines if "test_accuracy" in l and l["step"] == paused_at]
        self.assertTrue(own, f"no evaluation at step {paused_at} in the job's output")

        snapshot = os.path.join(tmp, "Sessions", "attached")
        r = subprocess.run([SPHERELAB, "eval", "--session", snapshot, "--eval-limit", str(EVAL_LIMIT), "--json",
                            "--datasets-dir", DATASETS], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        swift = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertLessEqual(abs(swift["test_accuracy"] - own[0]["test_accuracy"]) * 100, 0.05,
                             f"SphereLab {swift} vs the job {own[0]}")
        r = subprocess.run([SPHERELAB, "train", "--resume", snapshot, "--steps", "2", "--eval-limit", "50", "--json",
                            "--datasets-dir", DATASETS, "--save", os.path.join(tmp, "swift-continued")],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        resumed = [json.loads(l) for l in r.stdout.splitlines() if l.strip().startswith("{")]
        self.assertEqual([l["step"] for l in resumed if "loss" in l], [paused_at + 1, paused_at + 2])
        print(f"\n  attach e2e: paused at {paused_at}, job test accuracy {100 * own[0]['test_accuracy']:.2f}%, "
              f"SphereLab {100 * swift['test_accuracy']:.2f}% ({EVAL_LIMIT} examples)", file=sys.stderr)


class SwiftClientAgainstATokenChannel(unittest.TestCase):
    """The channel bound beyond loopback (0.0.0.0) refuses `spherelab attach` without the token."""

    def setUp(self):
        why = missing_requirement()
        if why:
            self.skipTest(why)
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.token_file = os.path.join(self.tmp, "job.token")
        self.ch = Channel("0.0.0.0", 0, token_file=self.token_file, log=lambda text: None,
                          hello={"run": {"runName": "token-test", "totalSteps": 10, "layers": []},
                                 "commands": ["pause", "resume"], "unavailable": []})
        self.addCleanup(self.ch.close)
        self.ch.publish({"type": "state", "state": "RUNNING", "step": 1, "epoch": 0, "lr": 0.001, "variant": "cosine"})
        self.ch.publish({"type": "step", "step": 1, "loss": 2.0, "accuracy": 0.1})

    def test_without_the_token_attach_is_refused_and_says_what_to_do(self):
        tm = Tmux(self, f"{SPHERELAB} attach 127.0.0.1:{self.ch.port}", 100, 30)
        s = tm.wait_for(lambda s: "EXIT=" in s, "attach ending", timeout=30)
        self.assertIn("EXIT=1", s)
        self.assertIn("--token-file", s)
        self.assertTrue(self.ch.commands.empty())

    def test_with_the_token_file_it_attaches_and_sends_commands(self):
        tm = Tmux(self, f"{SPHERELAB} attach 127.0.0.1:{self.ch.port} --token-file {self.token_file}", 80, 24)
        tm.wait_for(lambda s: "token-test" in s and "RUNNING" in s, "the workbench attached")
        tm.keys("Space")
        end = time.time() + 10
        while self.ch.commands.empty() and time.time() < end:
            time.sleep(0.1)
        self.assertFalse(self.ch.commands.empty(), "the pause command never reached the channel")
        tm.keys("q")
        tm.wait_for(lambda s: "EXIT=0" in s, "attach quitting")


if __name__ == "__main__":
    unittest.main()
