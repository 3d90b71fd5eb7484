"""A minimal client of the channel for the tests (what `spherelab attach` will do in Swift)."""
import json
import socket
import time


class TestClient:
    def __init__(self, address, timeout=30.0):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw((json.dumps(obj) + "\n").encode())

    def hello(self, token=None):
        msg = {"type": "hello", "protocol": 1, "client": "tests"}
        if token is not None:
            msg["token"] = token
        self.send(msg)
        first = self.read()
        replay = []
        if first.get("type") == "hello":
            while True:
                m = self.read()
                if m["type"] == "replay_end":
                    break
                replay.append(m)
        return first, replay

    def read(self):
        """The next message, or {'type': 'closed'} when the server closed the connection."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return {"type": "closed"}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_for(self, predicate, timeout=120.0):
        """Reads until a message satisfies `predicate`; returns it (and everything seen)."""
        seen = []
        end = time.time() + timeout
        while time.time() < end:
            m = self.read()
            seen.append(m)
            if predicate(m):
                return m, seen
            if m["type"] == "closed":
                break
        raise AssertionError(f"no matching message; last seen: {seen[-5:]}")

    def closed(self):
        try:
            while True:
                if self.read()["type"] == "closed":
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
