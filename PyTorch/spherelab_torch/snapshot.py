"""Reads and writes SphereLab snapshot folders (Sessions/README.md):

    <name>/weights.safetensors    every parameter and buffer, SphereLab's names, F32 (+ I64
                                  num_batches_tracked), `__metadata__` strings saying how to
                                  evaluate them (BatchNorm ε and convention, fc6 norm, input)
    <name>/optimizer.safetensors  <param>.exp_avg / .exp_avg_sq / .step (Adam) or
                                  <param>.momentum_buffer / .step (SGD), flattened
    <name>/session.json           the manifest (SessionManifest.swift), see manifest.py

Saving is atomic like the Swift store: the files go into a hidden temporary folder beside
the target, each file and the folder are fsync'ed, then the folder is renamed into place
(swapped with an existing snapshot in one step where Linux allows), and the parent is fsync'ed.
"""
import ctypes
import errno
import json
import os
import secrets
import shutil

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

WEIGHTS, OPTIMIZER, SESSION = "weights.safetensors", "optimizer.safetensors", "session.json"
INPUT_NORMALIZATION = "(x-127.5)/128"


class SnapshotError(Exception):
    """What is wrong with a snapshot, where, and what to do."""


# --- metadata -------------------------------------------------------------------------------

def weights_metadata(spec):
    """How to evaluate these weights; safetensors metadata values must be strings."""
    from .layers import BN_CONVENTIONS
    eps = BN_CONVENTIONS[spec.batchNormStatistics][0]
    return {"format": "pt", "producer": "spherelab-torch",
            "bn_epsilon": repr(eps), "bn_statistics": spec.batchNormStatistics,
            "fc6_batchnorm": "true" if spec.fc6BatchNorm else "false",
            "normalization": spec.normalization,
            "input_normalization": INPUT_NORMALIZATION}


def check_metadata_against(spec, metadata, path):
    """Raises when the file says it was trained in a way this model cannot honour; returns
    the BatchNorm ε to use (the recorded one wins over the convention's default)."""
    md = metadata or {}
    if "input_normalization" in md and md["input_normalization"] != INPUT_NORMALIZATION:
        raise SnapshotError(f"{path}: weights expect input normalisation {md['input_normalization']}, "
                            f"this package feeds {INPUT_NORMALIZATION}; evaluate them with the pipeline they were trained with")
    if "bn_statistics" in md and md["bn_statistics"] != spec.batchNormStatistics:
        raise SnapshotError(f"{path}: weights were trained with BatchNorm statistics '{md['bn_statistics']}', "
                            f"the model is built with '{spec.batchNormStatistics}'; pass --bn-stats {md['bn_statistics']}")
    if "fc6_batchnorm" in md and (md["fc6_batchnorm"] == "true") != spec.fc6BatchNorm:
        raise SnapshotError(f"{path}: weights say fc6 BatchNorm is {md['fc6_batchnorm']}, the model has it "
                            f"{'on' if spec.fc6BatchNorm else 'off'}; build the model with fc6BatchNorm={md['fc6_batchnorm']}")
    if "normalization" in md and md["normalization"] != spec.normalization:
        raise SnapshotError(f"{path}: weights use normalisation '{md['normalization']}', the model '{spec.normalization}'; "
                            f"pass --normalization {md['normalization']}")
    if "bn_epsilon" in md:
        try:
            return float(md["bn_epsilon"])
        except ValueError:
            raise SnapshotError(f"{path}: metadata bn_epsilon '{md['bn_epsilon']}' is not a number") from None
    return None


# --- names ----------------------------------------------------------------------------------

# Names other PyTorch code commonly uses for SphereLab's tensors: (foreign pattern, SphereLab form).
_RENAMES = [
    ("module.", ""),                 # a DistributedDataParallel / DataParallel wrapper's prefix
    ("_orig_mod.", ""),              # torch.compile's wrapper
    ("fc6_bn.", "fc6.1."),
    ("fc6.weight", "fc6.0.weight"),
    ("fc6.k", "fc6.0.k"),
    ("classifier.", "score."),
    ("fc.weight", "score.weight"),
    (".k_raw", ".k"),
    (".kappa", ".k"),
]


def _guess(name, wanted):
    for old, new in _RENAMES:
        if old in name:
            candidate = name.replace(old, new, 1) if old.endswith(".") and name.startswith(old) and new == "" \
                else name.replace(old, new)
            if candidate in wanted:
                return candidate
    return None


def describe_mismatch(missing, unexpected, shapes_have, shapes_want, path, candidates=None):
    """One message listing EVERY missing and unexpected tensor, with rename hints (a hint may
    also point at an optional tensor the file lacks, e.g. num_batches_tracked)."""
    lines = [f"{path}: the weights do not fit this model"]
    hinted = set()
    for u in sorted(unexpected):
        guess = _guess(u, set(candidates or missing))
        if guess:
            hinted.add(guess)
            lines.append(f"  unexpected {u} {list(shapes_have[u])} — looks like {guess}: SphereLab names it {guess}")
        elif u.endswith(".bias") and u.rsplit(".", 1)[0] + ".weight" in shapes_want and len(shapes_have[u]) == 1 \
                and (u.startswith("score") or len(shapes_want[u.rsplit('.', 1)[0] + '.weight']) == 4):
            lines.append(f"  unexpected {u} {list(shapes_have[u])} — SphereLab's convolutions and score layer have no bias")
        else:
            lines.append(f"  unexpected {u} {list(shapes_have[u])}")
    for m in sorted(missing):
        note = " (named differently above)" if m in hinted else ""
        if m.startswith("fc6.1.") and not note:
            note = " — the model has BatchNorm after fc6; if the weights were trained without it, build with fc6BatchNorm off"
        lines.append(f"  missing {m} {list(shapes_want[m])}{note}")
    lines.append("  Rename the tensors (or build the model the weights belong to: --model, --width, --normalization).")
    return "\n".join(lines)


def load_weights(model, tensors, metadata=None, path="weights"):
    """Copies `tensors` (name → tensor) into `model`, checking names and shapes. A missing
    `num_batches_tracked` is tolerated (evaluation never reads it; it becomes 0). Learnable k
    present in the file is created in the model first."""
    from .layers import BatchNorm2d, SphereConv2d
    eps = check_metadata_against(model.spec, metadata, path)
    for name, module in model.named_modules():
        if isinstance(module, SphereConv2d) and f"{name}.k" in tensors:
            module.ensure_k()
    want = model.state_dict()
    shapes_want = {k: tuple(v.shape) for k, v in want.items()}
    shapes_have = {k: tuple(v.shape) for k, v in tensors.items()}
    missing = [k for k in want if k not in tensors and not k.endswith(".num_batches_tracked")]
    unexpected = [k for k in tensors if k not in want]
    if missing or unexpected:
        absent = [k for k in want if k not in tensors]
        raise SnapshotError(describe_mismatch(missing, unexpected, shapes_have, shapes_want, path, absent))
    wrong = [f"  {k}: file {list(shapes_have[k])}, model {list(shapes_want[k])}"
             for k in tensors if shapes_have[k] != shapes_want[k]]
    if wrong:
        raise SnapshotError(f"{path}: tensors with the wrong shape:\n" + "\n".join(wrong)
                            + "\n  Build the model the weights belong to (--model, --width, dataset's channels and classes).")
    with torch.no_grad():
        for k, target in want.items():
            if k in tensors:
                target.copy_(tensors[k].to(target.dtype))
            else:
                target.zero_()      # num_batches_tracked absent: 0
    if eps is not None:
        for m in model.modules():
            if isinstance(m, BatchNorm2d):
                m.eps = eps


def weight_tensors(model):
    """The state dict as the engine writes it: float32 on the CPU, int64 counters."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().to("cpu")
        out[k] = v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32)
        out[k] = out[k].contiguous()
    return out


# --- optimizer state ------------------------------------------------------------------------

def optimizer_tensors(model, optimizer, steps_taken):
    """Moments under `<param>.exp_avg` / `.exp_avg_sq` / `.step` (Adam, torch keeps a step per
    parameter) or `.momentum_buffer` / `.step` (SGD, where torch keeps none: `steps_taken`,
    the run's step, stands in — the engine only asks whether it is past the first)."""
    names = {id(p): n for n, p in model.named_parameters()}
    adam = isinstance(optimizer, torch.optim.Adam)
    out = {}
    for p, state in optimizer.state.items():
        if not state or id(p) not in names:
            continue
        n = names[id(p)]
        if adam:
            out[f"{n}.exp_avg"] = state["exp_avg"].detach().float().cpu().reshape(-1).contiguous()
            out[f"{n}.exp_avg_sq"] = state["exp_avg_sq"].detach().float().cpu().reshape(-1).contiguous()
            step = int(float(state["step"]))
        else:
            if state.get("momentum_buffer") is None:
                continue
            out[f"{n}.momentum_buffer"] = state["momentum_buffer"].detach().float().cpu().reshape(-1).contiguous()
            step = max(1, int(steps_taken))
        out[f"{n}.step"] = torch.tensor(step, dtype=torch.int64)
    return out


def load_optimizer(model, optimizer, tensors, path="optimizer"):
    """Restores moments saved by either side; parameters never stepped have no entry."""
    adam = isinstance(optimizer, torch.optim.Adam)
    for n, p in model.named_parameters():
        step = tensors.get(f"{n}.step")
        if step is None:
            continue
        if adam:
            m, v = tensors.get(f"{n}.exp_avg"), tensors.get(f"{n}.exp_avg_sq")
            if m is None or v is None or m.numel() != p.numel() or v.numel() != p.numel():
                raise SnapshotError(f"{path}: optimizer state for {n} is missing or has the wrong size "
                                    f"(expected exp_avg and exp_avg_sq of {p.numel()} values); resume with the optimizer it was saved with")
            optimizer.state[p] = {"step": torch.tensor(float(int(step))),
                                  "exp_avg": m.reshape(p.shape).to(p.device, p.dtype).clone(),
                                  "exp_avg_sq": v.reshape(p.shape).to(p.device, p.dtype).clone()}
        else:
            b = tensors.get(f"{n}.momentum_buffer")
            if b is None or b.numel() != p.numel():
                raise SnapshotError(f"{path}: optimizer state for {n} is missing or has the wrong size "
                                    f"(expected momentum_buffer of {p.numel()} values)")
            optimizer.state[p] = {"momentum_buffer": b.reshape(p.shape).to(p.device, p.dtype).clone()}


# --- files ----------------------------------------------------------------------------------

def read_safetensors(path):
    """(tensors, metadata) with a clear error for a damaged or foreign file."""
    try:
        tensors, metadata = {}, None
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata()
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
        return tensors, metadata or {}
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file; a snapshot folder holds {WEIGHTS}, {OPTIMIZER} and {SESSION}") from None
    except Exception as e:   # the library's errors name no file
        raise SnapshotError(f"{path}: not a readable safetensors file ({e}); the file is damaged or not a snapshot") from None


def read_snapshot(folder):
    """(weights, weights metadata, optimizer tensors, manifest dict)."""
    if not os.path.isdir(folder):
        raise SnapshotError(f"{folder}: not a folder; give a snapshot folder (holding {WEIGHTS}, {OPTIMIZER}, {SESSION})")
    weights, metadata = read_safetensors(os.path.join(folder, WEIGHTS))
    opt, _ = read_safetensors(os.path.join(folder, OPTIMIZER))
    session = os.path.join(folder, SESSION)
    try:
        with open(session, "rb") as fh:
            manifest = json.loads(fh.read().decode("utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"{session}: missing; the folder is not a complete snapshot") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SnapshotError(f"{session}: not UTF-8 JSON ({e}); the snapshot is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "spherelab-session":
        raise SnapshotError(f"{session}: not a SphereLab session (format must be 'spherelab-session')")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > 1:
        raise SnapshotError(f"{session}: session version {manifest.get('version')!r}; this package reads version 1 — update it")
    return weights, metadata, opt, manifest


def _fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path, data):
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


_RENAME_EXCHANGE = 2


def _exchange(a, b):
    """Swaps two paths in one step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD = -100
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), b)


def valid_name(name):
    return (1 <= len(name) <= 100 and not name.startswith(".")
            and all(c.isascii() and (c.isalnum() or c in "._-") for c in name))


def write_snapshot(folder, weights, metadata, optimizer_state, manifest):
    """Writes the three files atomically as `folder`; returns its path."""
    folder = os.path.abspath(folder)
    parent, name = os.path.dirname(folder), os.path.basename(folder)
    if not valid_name(name):
        raise SnapshotError(f"'{name}' is not a valid snapshot name: use letters, digits, '.', '_' and '-' (not starting with '.')")
    os.makedirs(parent, exist_ok=True)
    # Encode everything first: invalid input writes nothing.
    blobs = {WEIGHTS: safetensors_bytes(weights, metadata=metadata),
             OPTIMIZER: safetensors_bytes(optimizer_state, metadata={"format": "pt", "producer": "spherelab-torch"}),
             SESSION: json.dumps(manifest, sort_keys=True, allow_nan=False).encode("utf-8")}
    tmp = os.path.join(parent, f".tmp-{name}-{os.getpid()}-{secrets.token_hex(4)}")
    os.mkdir(tmp)
    try:
        for fname, data in blobs.items():
            _write_file(os.path.join(tmp, fname), data)
        _fsync_path(tmp, directory=True)
        if os.path.exists(folder):
            if _exchange(tmp, folder):
                shutil.rmtree(tmp)          # now holds the previous snapshot
            else:
                old = os.path.join(parent, f".old-{name}-{os.getpid()}-{secrets.token_hex(4)}")
                os.rename(folder, old)
                os.rename(tmp, folder)
                shutil.rmtree(old)
        else:
            os.rename(tmp, folder)
        _fsync_path(parent, directory=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnapshotError(f"{folder}: saving failed ({e.strerror or e}); the previous snapshot, if any, is intact. "
                            "Free disk space or choose another folder, then save again") from None
    return folder
