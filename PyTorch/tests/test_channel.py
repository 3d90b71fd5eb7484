"""The telemetry/control channel: replay on connect, validation, limits, authentication, and a
training job that keeps running through malformed, oversized and unauthenticated messages."""
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from spherelab_torch import channel as channel_module
from spherelab_torch.channel import MAX_LINE, Channel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel_client import TestClient  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ChannelProtocol(unittest.TestCase):
    def setUp(self):
        self.ch = Channel("127.0.0.1", 0, hello={"run": {"runName": "t"}}, log=lambda text: None)
        self.addCleanup(self.ch.close)
        for s in (1, 2, 3):
            self.ch.publish({"type": "step", "step": s, "loss": 1.0 / s})

    def client(self):
        c = TestClient(self.ch.address, timeout=10)
        self.addCleanup(c.close)
        return c

    def test_hello_replays_history_then_streams(self):
        c = self.client()
        hello, replay = c.hello()
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(hello["protocol"], 1)
        self.assertEqual([m["step"] for m in replay], [1, 2, 3])
        self.ch.publish({"type": "step", "step": 4, "loss": float("nan")})
        m = c.read()
        self.assertEqual(m, {"type": "step", "step": 4, "loss": None})   # non-finite → null

    def test_malformed_messages_get_errors_and_the_connection_lives(self):
        c = self.client()
        c.hello()
        bad = [b"not json\n", b"[1,2]\n", b'{"type":"command","command":"set_lr","value":NaN}\n',
               b'{"type":"command","command":"set_lr","value":"fast"}\n',
               b'{"type":"command","command":"set_lr","value":-1}\n',
               b'{"type":"command","command":"scale_lr"}\n',
               b'{"type":"command","command":"pause","extra":1}\n',
               b'{"type":"command","command":"reboot"}\n',
               b'{"type":"command","command":"set_variant","variant":"tanh"}\n',
               b'{"type":"command","command":"save","name":"../x"}\n',
               b'{"type":"telemetry"}\n', b"\xff\xfe\n"]
        for line in bad:
            c.send_raw(line)
            self.assertEqual(c.read()["type"], "error", line)
        self.assertTrue(self.ch.commands.empty())
        c.send({"type": "ping", "id": 7})
        self.assertEqual(c.read(), {"type": "pong", "id": 7})
        c.send({"type": "command", "id": "a", "command": "set_lr", "value": 0.002})
        c.send({"type": "command", "command": "save", "name": "snap-1"})
        time.sleep(0.2)
        _, cid, name, args = self.ch.commands.get(timeout=5)
        self.assertEqual((cid, name, args), ("a", "set_lr", {"value": 0.002}))
        self.assertEqual(self.ch.commands.get(timeout=5)[2:], ("save", {"name": "snap-1"}))

    def test_oversized_line_closes_only_that_connection(self):
        c = self.client()
        c.hello()
        c.send_raw(b'{"type":"ping","pad":"' + b"x" * (MAX_LINE + 10))
        m = c.read()
        self.assertEqual(m["type"], "error")
        self.assertEqual(m["code"], "too_long")
        self.assertTrue(c.closed())
        d = self.client()
        self.assertEqual(d.hello()[0]["type"], "hello")

    def test_commands_before_hello_are_refused(self):
        c = self.client()
        c.send({"type": "command", "command": "pause"})
        self.assertEqual(c.read()["code"], "unauthorized")
        self.assertTrue(c.closed())
        self.assertTrue(self.ch.commands.empty())

    def test_a_client_that_stops_reading_is_dropped_without_blocking(self):
        saved = channel_module.CLIENT_QUEUE
        channel_module.CLIENT_QUEUE = 8
        self.addCleanup(setattr, channel_module, "CLIENT_QUEUE", saved)
        c = self.client()
        c.send({"type": "hello", "protocol": 1})
        time.sleep(0.3)
        start = time.time()
        for s in range(3000):
            self.ch.publish({"type": "event", "step": s, "level": "info", "text": "y" * 2000}, record=False)
        self.assertLess(time.time() - start, 5.0)
        time.sleep(0.3)
        self.assertEqual(len(self.ch.clients), 0)


class Authentication(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.token_file = os.path.join(self.tmp, "token")
        self.logged = []
        self.ch = Channel("0.0.0.0", 0, token_file=self.token_file, log=self.logged.append)
        self.addCleanup(self.ch.close)
        self.address = f"127.0.0.1:{self.ch.port}"

    def test_token_is_printed_once_and_stored_user_only(self):
        self.assertEqual(len(self.logged), 1)
        self.assertIn(self.ch.token, self.logged[0])
        mode = stat.S_IMODE(os.stat(self.token_file).st_mode)
        self.assertEqual(mode, 0o600)
        with open(self.token_file) as fh:
            self.assertEqual(fh.read().strip(), self.ch.token)

    def test_without_or_with_a_wrong_token_the_connection_is_refused(self):
        for token in (None, "wrong", ""):
            c = TestClient(self.address, timeout=10)
            hello, _ = c.hello(token)
            self.assertEqual(hello["type"], "error")
            self.assertEqual(hello["code"], "unauthorized")
            self.assertTrue(c.closed())
            c.close()
        c = TestClient(self.address, timeout=10)
        c.send({"type": "command", "command": "pause", "token": self.ch.token})
        self.assertEqual(c.read()["code"], "unauthorized")
        c.close()
        self.assertTrue(self.ch.commands.empty())

    def test_the_right_token_is_accepted(self):
        c = TestClient(self.address, timeout=10)
        hello, _ = c.hello(self.ch.token)
        self.assertEqual(hello["type"], "hello")
        c.close()

    def test_token_file_is_removed_when_the_job_ends(self):
        self.ch.close()
        self.assertFalse(os.path.exists(self.token_file))


class JobKeepsRunning(unittest.TestCase):
    """A real (single-process) training job, driven and abused through its channel."""

    def test_job_survives_abuse_and_obeys_commands(self):
        tmp = tempfile.mkdtemp()
        # The job runs the package under test, not whatever copy pip installed.
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "PyTorch"), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.Popen([sys.executable, "-m", "spherelab_torch.train", "--steps", "4", "--batch", "32",
                                 "--eval-every", "0", "--eval-limit", "100", "--json", "--paused", "--threads", "1",
                                 "--datasets-dir", os.path.join(REPO, "Datasets"), "--save", os.path.join(tmp, "end")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        first = json.loads(proc.stdout.readline())
        address = first["attach"]
        self.assertFalse(first["token_required"])
        # Abuse: garbage, an oversized line, commands without hello, a client that vanishes.
        for payload in (b"garbage\n", b"x" * (MAX_LINE + 100), b'{"type":"command","command":"resume"}\n'):
            c = TestClient(address, timeout=10)
            c.send_raw(payload)
            c.closed() if payload.startswith(b"x") or b"resume" in payload else c.read()
            c.close()
        gone = TestClient(address)
        gone.send({"type": "hello", "protocol": 1})
        gone.close()
        # A proper client: one step while paused, learning rate ×2, evaluate, save, resume.
        c = TestClient(address, timeout=60)
        _, replay = c.hello()
        self.assertTrue(any(m["type"] == "state" and m["state"] == "PAUSED" for m in replay))
        c.send({"type": "command", "id": 1, "command": "step"})
        ack, seen = c.wait_for(lambda m: m["type"] == "ack" and m.get("id") == 1)   # after the step
        self.assertEqual(ack["step"], 1)
        self.assertEqual([m["step"] for m in seen if m["type"] == "step"], [1])
        c.send({"type": "command", "id": 2, "command": "scale_lr", "factor": 2})
        ack, _ = c.wait_for(lambda m: m.get("id") == 2)
        self.assertAlmostEqual(ack["lr"], 2e-3)
        c.send({"type": "command", "id": 3, "command": "evaluate"})
        ack, _ = c.wait_for(lambda m: m.get("id") == 3)
        self.assertEqual(ack["type"], "ack")
        c.send({"type": "command", "id": 4, "command": "save", "name": "mid"})
        ack, _ = c.wait_for(lambda m: m.get("id") == 4)
        self.assertTrue(ack["saved"].endswith("Sessions/mid"))
        c.send({"type": "command", "id": 5, "command": "resume"})
        c.wait_for(lambda m: m.get("id") == 5)
        last, seen = c.wait_for(lambda m: m["type"] == "state" and m["state"] == "FINISHED")
        steps = [m for m in seen if m["type"] == "step"]
        self.assertEqual([m["step"] for m in steps], [2, 3, 4])
        self.assertTrue(all(abs(m["lr"] - 2e-3) < 1e-12 for m in steps))
        c.close()
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        self.assertEqual([l["step"] for l in lines if "loss" in l], [1, 2, 3, 4])
        self.assertTrue(os.path.isdir(os.path.join(tmp, "Sessions", "mid")))
        self.assertTrue(os.path.isdir(os.path.join(tmp, "end")))


if __name__ == "__main__":
    unittest.main()
