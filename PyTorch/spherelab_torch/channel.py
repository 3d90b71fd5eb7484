"""The telemetry and control channel of a training job's rank 0 (PROTOCOL.md is the contract).

TCP, JSON lines (one UTF-8 object per line, '\\n' terminated), at most MAX_LINE bytes a line in
both directions. Each client first sends `hello` (with the job's token when the job listens
beyond loopback); the server answers `hello`, replays the whole history, sends `replay_end`,
then streams live messages. Commands are validated here and queued for the training loop,
which applies them between steps and answers `ack` (or `error`).

Nothing a client does can stop the job: every client has its own reader and writer thread, a
bounded outgoing queue (a client that stops reading is dropped, the job goes on), and every
failure in a client's threads ends only that client.
"""
import hmac
import ipaddress
import json
import math
import os
import queue
import secrets
import socket
import sys
import threading
import time

PROTOCOL_VERSION = 1
MAX_LINE = 64 * 1024
HELLO_TIMEOUT = 10.0
SEND_TIMEOUT = 30.0
MAX_ERRORS = 20
CLIENT_QUEUE = 100_000
HISTORY_LIMIT = 2_000_000

COMMANDS = {
    # name: {field: (type check, description)}; every field listed is required.
    "pause": {},
    "resume": {},
    "step": {},
    "evaluate": {},
    "set_lr": {"value": "lr"},
    "scale_lr": {"factor": "factor"},
    "set_variant": {"variant": "variant"},
    "save": {},
}
OPTIONAL_FIELDS = {"save": {"name": "snapshot_name"}}


class ProtocolError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def is_loopback(host):
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _finite_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_command(msg):
    """(id, command name, arguments) from a parsed `command` message, or ProtocolError."""
    allowed = {"type", "id", "command"}
    cid = msg.get("id")
    if cid is not None and not ((isinstance(cid, int) and not isinstance(cid, bool) and abs(cid) < 2 ** 53)
                                or (isinstance(cid, str) and len(cid) <= 64)):
        raise ProtocolError("invalid_field", "id must be an integer (|id| < 2^53) or a string of at most 64 characters")
    name = msg.get("command")
    if not isinstance(name, str) or name not in COMMANDS:
        raise ProtocolError("unknown_command", f"command must be one of {', '.join(COMMANDS)}")
    fields = dict(COMMANDS[name])
    fields.update(OPTIONAL_FIELDS.get(name, {}))
    unknown = set(msg) - allowed - set(fields)
    if unknown:
        raise ProtocolError("invalid_field", f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
    args = {}
    for field, kind in fields.items():
        required = field in COMMANDS[name]
        if field not in msg:
            if required:
                raise ProtocolError("invalid_field", f"{name}: missing field '{field}'")
            continue
        v = msg[field]
        if kind == "lr":
            if not (_finite_number(v) and 0 < v <= 10):
                raise ProtocolError("invalid_field", f"{name}: value must be a number in (0, 10]")
        elif kind == "factor":
            if not (_finite_number(v) and 0 < v <= 100):
                raise ProtocolError("invalid_field", f"{name}: factor must be a number in (0, 100]")
        elif kind == "variant":
            from .ops import Variant
            if not isinstance(v, str) or len(v) > 32:
                raise ProtocolError("invalid_field", f"{name}: variant must be a string such as cosine or sigmoid:0.3")
            try:
                Variant.parse(v)
            except ValueError as e:
                raise ProtocolError("invalid_field", f"{name}: {e}") from None
        elif kind == "snapshot_name":
            from .snapshot import valid_name
            if not isinstance(v, str) or not valid_name(v):
                raise ProtocolError("invalid_field", f"{name}: name must be 1–100 of A–Z a–z 0–9 . _ - and not start with '.'")
        args[field] = v
    return cid, name, args


class Client:
    def __init__(self, channel, sock, address):
        self.channel, self.sock, self.address = channel, sock, address
        self.outgoing = queue.Queue(maxsize=CLIENT_QUEUE)
        self.closed = threading.Event()
        self.authenticated = False
        self.errors = 0
        self.done = threading.Event()      # the writer has finished

    def send(self, msg):
        """Queues one message; a client whose queue is full stopped reading and is dropped."""
        if self.closed.is_set():
            return
        try:
            self.outgoing.put_nowait(msg)
        except queue.Full:
            self.close()

    def close(self):
        """Hard close: the connection ends now (queued messages are dropped)."""
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            self.outgoing.put_nowait(None)
        except queue.Full:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.channel._forget(self)

    def finish(self):
        """Graceful close: what is queued (e.g. the error explaining why) goes out first."""
        self.channel._forget(self)
        try:
            self.outgoing.put_nowait(None)
        except queue.Full:
            self.close()

    def writer(self):
        try:
            while True:
                msg = self.outgoing.get()
                if msg is None:
                    break
                line = msg if isinstance(msg, bytes) else encode(msg)
                self.sock.sendall(line)     # bounded by the socket timeout: a stalled client is dropped
            if not self.closed.is_set():
                self._linger()
        except OSError:
            pass
        finally:
            self.close()
            try:
                self.sock.close()
            except OSError:
                pass
            self.done.set()

    def _linger(self):
        """Sends FIN, then discards what the client still sends for a moment: closing with
        unread input would reset the connection and could destroy the last error message."""
        self.sock.shutdown(socket.SHUT_WR)
        self.sock.settimeout(1.0)
        discarded = 0
        try:
            while discarded < (1 << 20):
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                discarded += len(chunk)
        except OSError:
            pass

    def error(self, code, message, cid=None):
        out = {"type": "error", "code": code, "message": message}
        if cid is not None:
            out["id"] = cid
        self.send(out)

    def reader(self):
        buf = b""
        try:
            self.sock.settimeout(HELLO_TIMEOUT)     # lifted once hello is accepted
            while not self.closed.is_set():
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    if not self.authenticated:
                        self.error("unauthorized", f"no hello within {HELLO_TIMEOUT:g} s")
                        break
                    continue
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if len(line) > MAX_LINE:
                        self.error("too_long", f"a line of {len(line)} bytes exceeds the limit of {MAX_LINE}; closing")
                        return
                    if not self.handle(line):
                        return
                if len(buf) > MAX_LINE:
                    self.error("too_long", f"a line exceeds the limit of {MAX_LINE} bytes; closing")
                    return
        except OSError:
            pass
        finally:
            self.finish()

    def handle(self, line):
        """Processes one line; False closes the connection."""
        line = line.strip()
        if not line:
            return True
        try:
            msg = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
            if not isinstance(msg, dict):
                raise ProtocolError("malformed", "a message must be a JSON object")
            kind = msg.get("type")
            if not self.authenticated:
                if kind != "hello":
                    self.error("unauthorized", "the first message must be hello")
                    return False
                return self.hello(msg)
            if kind == "command":
                cid, name, args = validate_command(msg)
                self.channel.commands.put((self, cid, name, args))
            elif kind == "ping":
                if set(msg) - {"type", "id"}:
                    raise ProtocolError("invalid_field", "ping takes only an id")
                self.send({"type": "pong", **({"id": msg["id"]} if "id" in msg else {})})
            elif kind == "hello":
                raise ProtocolError("invalid_field", "hello was already received")
            else:
                raise ProtocolError("unknown_type", "type must be hello, command or ping")
        except (UnicodeDecodeError, ValueError) as e:
            self.errors += 1
            self.error("malformed", f"not a UTF-8 JSON object ({str(e)[:200]})")
        except ProtocolError as e:
            self.errors += 1
            self.error(e.code, e.message, msg.get("id") if isinstance(msg, dict) else None)
        if self.errors >= MAX_ERRORS:
            self.error("too_many_errors", f"{MAX_ERRORS} invalid messages; closing")
            return False
        return True

    def hello(self, msg):
        unknown = set(msg) - {"type", "protocol", "token", "client"}
        if unknown or not isinstance(msg.get("protocol", PROTOCOL_VERSION), int):
            self.error("invalid_field", "hello takes protocol (integer), token (string) and client (string)")
            return False
        if msg.get("protocol", PROTOCOL_VERSION) != PROTOCOL_VERSION:
            self.error("unsupported_protocol", f"this job speaks protocol {PROTOCOL_VERSION}")
            return False
        if self.channel.token:
            given = msg.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), self.channel.token.encode()):
                self.error("unauthorized", "missing or wrong token")
                return False
        self.authenticated = True
        self.sock.settimeout(SEND_TIMEOUT)   # reads treat the timeout as "nothing yet"
        self.channel._attach(self)
        return True


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def encode(msg):
    """One line; non-finite numbers become null (JSON has none)."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return (json.dumps(clean(msg), separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


class Channel:
    """Listens on (host, port); `publish` records and streams, `commands` is the queue of
    validated (client, id, name, args) the training loop drains between steps."""

    def __init__(self, host="127.0.0.1", port=0, token_file=None, hello=None, log=None):
        self.host = host
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.commands = queue.Queue()
        self.hello_fields = hello or {}
        self.history = []
        self.lock = threading.Lock()
        self.clients = set()
        self.token = None
        if not is_loopback(host):
            self.token = secrets.token_urlsafe(32)
            self.token_file = token_file or os.path.abspath(f"spherelab-attach-{os.getpid()}.token")
            fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, (self.token + "\n").encode())
            finally:
                os.close(fd)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.server = socket.socket(family, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((host, port))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        if self.token:
            # Printed once; the file keeps it for whoever may read it (the user only).
            self.log(f"attach token (also in {self.token_file}, mode 0600): {self.token}")
        threading.Thread(target=self._accept, name="spherelab-channel", daemon=True).start()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def _accept(self):
        while True:
            try:
                sock, addr = self.server.accept()
            except OSError:
                return
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c = Client(self, sock, addr)
                threading.Thread(target=c.writer, daemon=True).start()
                threading.Thread(target=c.reader, daemon=True).start()
            except Exception:   # a broken connection must not end the accept loop
                try:
                    sock.close()
                except OSError:
                    pass

    def _attach(self, client):
        """Hello, the whole history, replay_end, atomically with respect to `publish`."""
        with self.lock:
            client.send({"type": "hello", "protocol": PROTOCOL_VERSION, **self.hello_fields})
            for line in self.history:
                client.send(line)
            client.send({"type": "replay_end", "messages": len(self.history)})
            self.clients.add(client)

    def _forget(self, client):
        with self.lock:
            self.clients.discard(client)

    def publish(self, msg, record=True):
        line = encode(msg)
        if len(line) > MAX_LINE:      # never send what a client must refuse
            line = encode({"type": "event", "step": msg.get("step", 0), "level": "warning",
                           "text": f"a {msg.get('type')} message of {len(line)} bytes was dropped (limit {MAX_LINE})"})
        with self.lock:
            if record and len(self.history) < HISTORY_LIMIT:
                self.history.append(line)
            clients = list(self.clients)
        for c in clients:
            c.send(line)

    def close(self, grace=3.0):
        """Stops listening; attached clients get what is queued (the final state) within
        `grace` seconds, then the connections end."""
        try:
            self.server.close()
        except OSError:
            pass
        with self.lock:
            clients = list(self.clients)
        for c in clients:
            c.finish()
        end = time.time() + grace
        for c in clients:
            c.done.wait(max(0.0, end - time.time()))
            c.close()
        if self.token:
            try:
                os.unlink(self.token_file)
            except OSError:
                pass
