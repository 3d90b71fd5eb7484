"""`python -m spherelab_torch.train`: `spherelab train` on PyTorch, under torchrun.

    torchrun --nproc_per_node 2 -m spherelab_torch.train --steps 50 --width 0.25 --json
    python -m spherelab_torch.train --steps 50          # one process, no torchrun needed

Options are `spherelab train`'s (same names, defaults and meaning; see --help). Extras for
this side: --attach-host/--attach-port/--token-file/--no-attach (the telemetry and control
channel, PROTOCOL.md), --amp, --threads, --paused, --fc6-bn, --image-size, and
`--dataset folder:PATH` for an ImageNet-style image folder.

Distributed model: every rank builds the same model from the seed, DistributedDataParallel
averages gradients, `--batch` is the GLOBAL batch (split evenly across ranks, so a run's
maths does not depend on how many processes share it, except BatchNorm statistics, which are
per rank). Rank 0 owns the channel, prints, evaluates (with the test set sharded over the
ranks) and saves. Before every step rank 0 broadcasts one small control vector (what to do,
learning rate, variant, evaluate/save), so commands land on all ranks at the same step.
"""
import argparse
import datetime
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from . import data as datasets
from .angles import AngleHistory, measure
from .channel import Channel
from .heads import head_forward, loss_name, parse_loss
from .manifest import History, Hyper, build_manifest
from .models import ModelSpec, build_model, parse_model_name
from .ops import Variant
from .regularization import apply_orthogonality, apply_weight_decay
from .snapshot import (SnapshotError, load_optimizer, load_weights, optimizer_tensors, read_snapshot, weight_tensors,
                       weights_metadata, write_snapshot)

EVAL_BATCH = 500
VARIANT_CODES = ["conv", "cosine", "linear", "sigmoid", "lr-sigmoid"]
# Control vector entries (float64, broadcast from rank 0 before every iteration).
C_ACTION, C_LR, C_VARIANT, C_K, C_EVAL, C_SAVE, C_SIZE = 0, 1, 2, 3, 4, 5, 8
IDLE, STEP, FINISH = 0.0, 1.0, 2.0


class UsageError(Exception):
    pass


def parser():
    p = argparse.ArgumentParser(prog="python -m spherelab_torch.train",
                                description="Train a SphereNet with PyTorch (torchrun-ready), SphereLab's options and snapshots.")
    a = p.add_argument
    a("--dataset", help="fashion-mnist, mnist, cifar-10, cifar-100, or folder:PATH (ImageNet-style) (default fashion-mnist)")
    a("--model", help="spherenet9 (spherenetN, N a multiple of 3), sphereresnet32 (N = 6n+2) (default spherenet9)")
    a("--width", type=float, help="width multiplier (default 0.25)")
    a("--variant", help="conv, cosine, linear, sigmoid, sigmoid:K, lr-sigmoid (default cosine)")
    a("--optimizer", help="adam or sgd (default adam)")
    a("--lr", type=float, help="learning rate (default 1e-3)")
    a("--momentum", type=float, help="SGD momentum (default 0.9)")
    a("--lr-milestones", dest="milestones", help="steps where the learning rate drops ×0.1, comma-separated")
    a("--weight-decay", dest="weight_decay", type=float, help="coupled L2 on classifier, BN and plain-conv weights (default 5e-4)")
    a("--orthogonality", type=float, help="orthogonality penalty weight on SphereConv layers (default 1e-4)")
    a("--loss", help="softmax, softmax-authors, w-softmax, ga-softmax[:cosine|linear|sigmoid] (default softmax)")
    a("--margin", type=int, help="GA-Softmax margin m (default 1)")
    a("--batch", type=int, help="global batch size, split across processes (default 128)")
    a("--eval-every", dest="eval_every", type=int, help="evaluate every N steps (default 500; 0: only at the end)")
    a("--eval-limit", dest="eval_limit", type=int, help="test examples per evaluation (default: all)")
    a("--bn-stats", dest="bn_stats", help="BatchNorm running statistics: pytorch or paper (default pytorch)")
    a("--normalization", help="after each SphereConv: bn, spherenorm or spherenorm+bn (default bn)")
    a("--augment", help="default, none, flip, crop, flip+crop")
    a("--seed", type=int, help="seed for weights, data order and augmentation (default 1)")
    a("--datasets-dir", dest="datasets_dir", default="Datasets", help="folder searched first for datasets")
    a("--threads", type=int, help="CPU threads per process (default: torch's)")
    a("--steps", type=int, help="training steps (default: one epoch; with --resume: steps to add)")
    a("--save", help="write a snapshot at the end: a name under Sessions/, or a folder path")
    a("--save-every", dest="save_every", type=int, help="also write the snapshot every N steps (needs --save)")
    a("--resume", help="continue the run saved in this snapshot folder (SphereLab's or this package's)")
    a("--json", action="store_true", help="print one JSON object per line")
    a("--train-bn-eval", dest="train_bn_eval", action="store_true", help="also report test accuracy with BatchNorm in train mode")
    # This side only.
    a("--fc6-bn", dest="fc6_bn", choices=["on", "off"], help="BatchNorm after fc6 (default on)")
    a("--image-size", dest="image_size", type=int, default=224, help="crop size for folder: datasets (default 224)")
    a("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto",
      help="mixed precision on GPUs: auto (bf16 where supported, else fp16), off; never used on CPUs")
    a("--attach-host", dest="attach_host", default="127.0.0.1",
      help="address of the telemetry/control channel (default loopback; anything else requires the printed token)")
    a("--attach-port", dest="attach_port", type=int, default=0, help="port of the channel (default: any free port, printed)")
    a("--token-file", dest="token_file", help="where to store the channel token (mode 0600) when not on loopback")
    a("--no-attach", dest="no_attach", action="store_true", help="no telemetry/control channel")
    a("--paused", action="store_true", help="start paused (resume from an attached client)")
    a("--linger", type=float, default=0.0, help="keep the channel open this many seconds after the last step")
    return p


IDENTITY = ("dataset", "model", "width", "seed", "bn_stats", "normalization", "augment", "fc6_bn")


def apply_hyper(args, h):
    """The command line's hyperparameters over `h`; returns what changed (for --resume)."""
    changed = []
    if args.variant is not None:
        h.variant = Variant.parse(args.variant)
        changed.append(f"variant {h.variant.description}")
    if args.optimizer is not None or args.momentum is not None:
        h.optimizer = (args.optimizer or h.optimizer).lower()
        if args.momentum is not None:
            h.momentum = args.momentum
        changed.append(f"optimizer {h.optimizer}")
    if args.lr is not None or args.milestones is not None:
        if args.lr is not None:
            h.lr = args.lr
        if args.milestones is not None:
            try:
                h.milestones = sorted(int(s) for s in args.milestones.split(",") if s.strip())
            except ValueError:
                raise UsageError(f"bad --lr-milestones '{args.milestones}': use comma-separated step numbers") from None
        changed.append(f"learning rate {h.lr:g}")
    if args.weight_decay is not None:
        h.weightDecay = args.weight_decay
        changed.append(f"weight decay {h.weightDecay:g}")
    if args.orthogonality is not None:
        h.orthogonality = args.orthogonality
        changed.append(f"orthogonality {h.orthogonality:g}")
    if args.loss is not None or args.margin is not None:
        margin = args.margin if args.margin is not None else h.head.margin
        h.head, h.crossEntropy = parse_loss(args.loss or loss_name(h.head, h.crossEntropy).split(" ")[0], margin, h.variant)
        changed.append(f"loss {loss_name(h.head, h.crossEntropy)}")
    if args.batch is not None:
        h.batchSize = args.batch
        changed.append(f"batch {h.batchSize}")
    if args.eval_every is not None:
        h.evalEvery = args.eval_every
        changed.append(f"eval every {h.evalEvery}")
    h.validate()
    return changed


def augmentation_option(text, kind):
    table = {"none": (False, 0, False), "flip": (True, 0, False), "crop": (False, 4, True), "flip+crop": (True, 4, True)}
    if text in (None, "default"):
        return datasets.default_augmentation(kind)
    if text not in table:
        raise UsageError("--augment must be default, none, flip, crop or flip+crop")
    return table[text]


# --- distributed plumbing ----------------------------------------------------------------------

class Dist:
    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available()
        self.device = torch.device(f"cuda:{self.local_rank}") if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        self.backend = None
        if self.world > 1:
            self.backend = "nccl" if cuda else "gloo"
            # Paused jobs broadcast every 0.2 s, so no collective waits long; evaluations and
            # saves on rank 0 may, hence the generous timeout.
            dist.init_process_group(self.backend, timeout=datetime.timedelta(hours=2))

    @property
    def active(self):
        return self.world > 1

    def broadcast(self, t):
        if self.active:
            dist.broadcast(t, 0)
        return t

    def sum(self, t):
        if self.active:
            dist.all_reduce(t)
        return t

    def close(self):
        if self.active:
            dist.destroy_process_group()


class HeadModule(nn.Module):
    """Body + head in one module, so DDP sees (and averages) the score weights' gradient too."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.head = None
        self.ce = None

    def forward(self, x, labels, training):
        return head_forward(self.net(x), self.net.score.weight, labels, self.head, self.ce, training)


# --- the job ---------------------------------------------------------------------------------

class Job:
    def __init__(self, args, env):
        self.args, self.env = args, env
        self.rank0 = env.rank == 0
        self.out = sys.stdout
        self.start_wall = time.time()
        self.history = History()
        self.resume_note = None
        self.position_rng = None
        if args.resume:
            given = [f"--{k.replace('_', '-')}" for k in IDENTITY if getattr(args, k) is not None]
            if given:
                raise UsageError(f"{', '.join(given)} cannot change when resuming: the snapshot fixes them")
            self._from_snapshot(args.resume)
        else:
            self._fresh()
        self.run_name = self.run_name or f"{self.spec.model_name}-{self.hyper.variant.name}-{self.dataset}"

    # setup

    def _load_data(self, dataset, image_size):
        if dataset.startswith("folder:"):
            root = dataset[len("folder:"):]
            train = datasets.ImageFolder(root, "train", image_size, int(image_size * 8 / 7))
            test = datasets.ImageFolder(root, "val", image_size, int(image_size * 8 / 7))
            return train, test
        return datasets.load(dataset, self.args.datasets_dir)

    def _fresh(self):
        a = self.args
        self.dataset = (a.dataset or "fashion-mnist").lower() if not (a.dataset or "").startswith("folder:") else a.dataset
        arch, depth = parse_model_name(a.model or "spherenet9")
        self.train_set, self.test_set = self._load_data(self.dataset, a.image_size)
        c, h, w = self.train_set.shape
        self.spec = ModelSpec(arch, a.width if a.width is not None else 0.25, depth, c, h, w, self.train_set.classes,
                              a.normalization or "bn", (a.fc6_bn or "on") == "on", a.bn_stats or "pytorch")
        self.spec.validate()
        self.seed = 1 if a.seed is None else a.seed
        self.hyper = Hyper()
        apply_hyper(a, self.hyper)
        self.augmentation = augmentation_option(a.augment, self.dataset)
        self.eval_limit = a.eval_limit
        self.step, self.epoch, self.index = 0, 0, 0
        self.run_name = None
        self.model = build_model(self.spec, self.hyper.variant, seed=self.seed)
        self.snapshot = None

    def _from_snapshot(self, path):
        weights, metadata, opt_state, m = read_snapshot(path)
        try:
            self.spec = ModelSpec.from_json(m["setup"]["model"])
            self.hyper = Hyper.from_json(m["hyper"])
            # A batch above SphereLab's maximum is recorded apart (manifest.py); ours wins.
            own = m.get("pytorch", {}).get("batchSize")
            if isinstance(own, int) and own >= 1:
                self.hyper.batchSize = own
            self.dataset = m["setup"]["dataset"]
            self.seed = int(m["setup"]["seed"])
            aug = m["setup"]["augmentation"]
            self.augmentation = (bool(aug["horizontalFlip"]), int(aug["padCrop"]), bool(aug["mirrorPad"]))
            self.eval_limit = m["setup"].get("evaluationLimit")
            self.step, self.epoch = int(m["step"]), int(m["epoch"])
            pos = m["dataPosition"]
            self.index, self.position_rng = int(pos["index"]), list(pos["rng"])
            layer_variants = {k: Variant.from_json(v) for k, v in m.get("layerVariants", {}).items()}
        except (KeyError, TypeError, ValueError) as e:
            raise SnapshotError(f"{path}/session.json does not match SphereLab's session schema ({e}); "
                                "the snapshot is damaged or from another tool") from None
        if self.args.eval_limit is not None:
            self.eval_limit = self.args.eval_limit
        changes = apply_hyper(self.args, self.hyper)
        self.train_set, self.test_set = self._load_data(self.dataset, self.args.image_size)
        fp = m.get("datasetFingerprint")
        self.fingerprint = fp
        self.run_name = m.get("runName") or None
        self.model = build_model(self.spec, Variant("conv"))
        load_weights(self.model, weights, metadata, f"{path}/weights.safetensors")
        for name, conv in self.model.sphere_capable():
            conv.variant = layer_variants.get(name, self.hyper.variant)
        if self.args.variant is not None:
            self.model.set_variant(self.hyper.variant)
        self.history = History.from_manifest(m)
        self.history.events.append({"step": self.step, "level": "info", "text": f"opened {path}"})
        self.snapshot = (opt_state, m["hyper"]["optimizer"])
        self.resume_note = (path, changes)

    def build_optimizer(self):
        params = self.model.trained_parameters()
        h = self.hyper
        if h.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=h.rate(self.step), betas=(h.beta1, h.beta2), eps=h.adam_eps, weight_decay=0)
        else:
            opt = torch.optim.SGD(params, lr=h.rate(self.step), momentum=h.momentum, weight_decay=0)
        return opt

    def add_new_parameters(self):
        """After a variant change: learnable k joins the optimizer (created on first use)."""
        known = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        fresh = [p for p in self.model.trained_parameters() if id(p) not in known]
        if fresh:
            self.optimizer.add_param_group({"params": fresh})

    def wrap(self):
        """(Re)wraps the model in DDP: needed when the parameter set changes (k created) or when
        a dormant k must be ignored (find_unused_parameters)."""
        self.module = HeadModule(self.model).to(self.env.device)
        self.module.head, self.module.ce = self.hyper.head, self.hyper.crossEntropy
        dormant = any(n.endswith(".k") and p not in set(self.model.trained_parameters())
                      for n, p in self.model.named_parameters())
        if self.env.active:
            ids = [self.env.device.index] if self.env.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.module, device_ids=ids, find_unused_parameters=dormant)
        else:
            self.ddp = self.module

    # output

    def emit(self, fields):
        if not self.rank0:
            return
        if self.args.json:
            self.out.write(json.dumps({k: (float(f"{v:.6g}") if isinstance(v, float) and math.isfinite(v) else v)
                                       for k, v in fields.items()}) + "\n")
        else:
            self.out.write(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()) + "\n")
        self.out.flush()

    def event(self, text, level="info"):
        e = {"step": self.step, "level": level, "text": text}
        self.history.events.append(e)
        if self.channel:
            self.channel.publish({"type": "event", **e})

    def publish_state(self):
        if self.channel:
            self.channel.publish({"type": "state", "state": self.state, "step": self.step, "epoch": self.sampler.epoch,
                                  "lr": self.hyper.rate(self.step), "variant": self.hyper.variant.cli,
                                  "hyper": self.hyper.to_json()})

    # the loop

    def run(self):
        env, a, h = self.env, self.args, self.hyper
        self.model.to(env.device)
        self.optimizer = self.build_optimizer()
        if self.snapshot:
            opt_state, opt_json = self.snapshot
            (saved_kind, _), = opt_json.items()
            if saved_kind == h.optimizer:
                load_optimizer(self.model, self.optimizer, opt_state, f"{a.resume}/optimizer.safetensors")
        self.wrap()
        folder = isinstance(self.train_set, datasets.ImageFolder)   # crops and flips in its loader
        self.sampler = datasets.EngineBatches(len(self.train_set), h.batchSize, env.rank, env.world, self.seed,
                                              (False, 0, False) if folder else self.augmentation,
                                              self.epoch, self.index, self.position_rng)
        self.rng = np.random.default_rng([self.seed, 7919, env.rank, self.step])
        self.amp = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        steps_per_epoch = math.ceil(len(self.train_set) / h.batchSize)
        steps = a.steps if a.steps is not None else steps_per_epoch
        target = self.step + steps
        self.target = target
        self.state = "PAUSED" if a.paused else "RUNNING"
        self.channel = None
        self.pending_eval = self.pending_save = None
        self.single_steps = 0
        self.pending_step_acks = []
        if self.rank0 and not a.no_attach:
            self.channel = Channel(a.attach_host, a.attach_port, a.token_file, hello=self._hello(steps_per_epoch))
            self._replay_history()
            self.emit({"step": self.step, "attach": self.channel.address, "token_required": bool(self.channel.token)})
        if self.resume_note:
            path, changes = self.resume_note
            self.emit({"step": self.step, "resumed": path, "overrides": "; ".join(changes)})
        if not a.json and self.rank0:
            print(f"training {self.spec.display_name} ({sum(p.numel() for p in self.model.parameters())} parameters), "
                  f"{h.variant.description} SphereConv, {h.optimizer} lr {h.rate(self.step):g}, batch {h.batchSize} "
                  f"on {env.world} process(es) ({env.backend or 'single'}, {env.device.type}), {steps} steps on {self.dataset}",
                  flush=True)
        self.publish_state()
        last_eval = None
        try:
            while True:
                ctl = self._control(target)
                action = ctl[C_ACTION].item()
                self._apply_control(ctl)
                if ctl[C_EVAL].item():
                    last_eval = self.evaluate()
                if ctl[C_SAVE].item():
                    self.save(self.pending_save_name)
                if action == FINISH:
                    break
                if action == IDLE:
                    continue
                r = self.train_step()
                if self.rank0 and self.pending_step_acks:
                    self._ack(*self.pending_step_acks.pop(0), "step", lr=r["lr"], state=self.state,
                              variant=h.variant.cli, loss=r["loss"])
                if not math.isfinite(r["loss"]):
                    self.event(f"diverged at step {self.step + 1}", "error")
                    raise RuntimeError(f"training diverged at step {self.step + 1} (loss or gradients not finite); "
                                       "try a lower learning rate (--lr)")
                every = h.evalEvery
                if (every > 0 and self.step % every == 0) or self.step == target:
                    last_eval = self.evaluate()
                if a.save_every and self.step % a.save_every == 0 and self.step != target:
                    self.save(None)
            if a.save:
                self.save(None)
            self.state = "FINISHED"
            self.publish_state()
            if self.channel and a.linger > 0:
                time.sleep(a.linger)
        finally:
            if self.channel:
                self.channel.close()
        return last_eval

    def _amp_dtype(self):
        if self.env.device.type != "cuda" or self.args.amp == "off":
            return None
        if self.args.amp == "fp16":
            return torch.float16
        if self.args.amp == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def _hello(self, steps_per_epoch):
        return {"run": {"runName": self.run_name, "dataset": self.dataset, "model": self.spec.display_name,
                        "modelName": self.spec.model_name, "setup": {"model": self.spec.to_json(), "seed": self.seed},
                        "worldSize": self.env.world, "backend": self.env.backend or "single",
                        "device": self.env.device.type, "stepsPerEpoch": steps_per_epoch,
                        "totalSteps": self.target, "batchSize": self.hyper.batchSize,
                        "layers": [n for n, _ in self.model.sphere_capable()]},
                "commands": ["pause", "resume", "step", "set_lr", "scale_lr", "set_variant", "evaluate", "save"],
                "unavailable": ["set_optimizer", "set_weight_decay", "set_orthogonality", "set_head", "set_batch_size",
                                "set_eval_every", "set_stats_every", "quit"]}

    def _replay_history(self):
        """A resumed run's history goes into the channel's record, so attach shows it all."""
        h = self.history
        acc = {p["step"]: p["value"] for p in h.trainAccuracy}
        for p in h.trainLoss:
            self.channel.publish({"type": "step", "step": p["step"], "loss": p["value"],
                                  "accuracy": acc.get(p["step"]), "replayed": True})
        tl = {p["step"]: p["value"] for p in h.testLoss}
        for p in h.testAccuracy:
            self.channel.publish({"type": "eval", "step": p["step"], "test_accuracy": p["value"],
                                  "test_loss": tl.get(p["step"]), "replayed": True})
        for e in h.events:
            self.channel.publish({"type": "event", **e, "replayed": True})
        for entries in h.angleHistory.values():
            for e in entries.entries:
                self.channel.publish({"type": "angles", **e, "replayed": True})

    # control

    def _control(self, target):
        """Rank 0 decides the iteration (commands, pause); every rank receives the same vector."""
        ctl = torch.zeros(C_SIZE, dtype=torch.float64)
        self.pending_save_name = None
        if self.rank0:
            self._drain_commands(wait=self.state == "PAUSED")
            v = self.hyper.variant
            ctl[C_LR] = self.hyper.rate(self.step)
            ctl[C_VARIANT] = VARIANT_CODES.index(v.name)
            ctl[C_K] = v.k or 0.0
            ctl[C_EVAL] = 1.0 if self.pending_eval else 0.0
            ctl[C_SAVE] = 1.0 if self.pending_save else 0.0
            if self.pending_save:
                self.pending_save_name = self.pending_save[2]
            if self.step >= target:
                ctl[C_ACTION] = FINISH
            elif self.state == "RUNNING" or self.single_steps > 0:
                ctl[C_ACTION] = STEP
                self.single_steps = max(0, self.single_steps - 1)
            else:
                ctl[C_ACTION] = IDLE
        return self.env.broadcast(ctl.to(self.env.device if self.env.backend == "nccl" else "cpu")).cpu()

    def _ack(self, client, cid, name, **fields):
        if client is not None:
            msg = {"type": "ack", "command": name, "step": self.step, **fields}
            if cid is not None:
                msg["id"] = cid
            client.send(msg)

    def _drain_commands(self, wait):
        if not self.channel:
            return
        import queue as _q
        deadline = time.time() + (0.2 if wait else 0.0)
        while True:
            try:
                timeout = max(0.0, deadline - time.time())
                item = self.channel.commands.get(timeout=timeout) if timeout > 0 else self.channel.commands.get_nowait()
            except _q.Empty:
                return
            self._command(*item)
            # Commands apply in order, each at a step boundary: after one that needs the next
            # boundary (a step, an evaluation, a save, a new operator), the rest wait for it.
            if item[2] in ("step", "evaluate", "save", "set_variant") or (wait and self.state != "PAUSED"):
                return

    def _command(self, client, cid, name, args):
        h = self.hyper
        if name == "pause":
            self.state = "PAUSED"
            self.event("paused")
        elif name == "resume":
            self.state = "RUNNING"
            self.event("resumed")
        elif name == "step":
            if self.state != "PAUSED":
                client.error("unavailable", "step works while paused", cid)
                return
            self.single_steps += 1
            self.pending_step_acks.append((client, cid))
            return          # acknowledged after the step
        elif name in ("set_lr", "scale_lr"):
            new = args["value"] if name == "set_lr" else h.rate(self.step) * args["factor"]
            if not (0 < new <= 10):
                client.error("invalid_field", f"the learning rate would be {new:g}, outside (0, 10]", cid)
                return
            h.set_rate(new, self.step)
            self.event(f"learning rate {new:g}")
        elif name == "set_variant":
            h.variant = Variant.parse(args["variant"])
            self.event(f"variant {h.variant.description}")
        elif name == "evaluate":
            self.pending_eval = (client, cid)
            return          # acknowledged after the evaluation
        elif name == "save":
            if not self.args.save and "name" not in args:
                client.error("unavailable", "the job has no --save target; give a name", cid)
                return
            self.pending_save = (client, cid, args.get("name"))
            return          # acknowledged after the save
        self.publish_state()
        self._ack(client, cid, name, lr=h.rate(self.step), state=self.state, variant=h.variant.cli)

    def _apply_control(self, ctl):
        """The same on every rank: learning rate and variant from rank 0."""
        lr = ctl[C_LR].item()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        name = VARIANT_CODES[int(ctl[C_VARIANT].item())]
        v = Variant(name, ctl[C_K].item() if name == "sigmoid" else None)
        if not self.rank0:
            self.hyper.variant = v
            self.hyper.set_rate(lr, self.step)
        if v != self.model.variant:
            self.model.set_variant(v)
            self.model.to(self.env.device)
            self.add_new_parameters()
            self.wrap()

    # steps

    def _batch(self, indices, train):
        """Test batches: `indices` in order. Training: the stream's next batch (indices ignored)."""
        s = self.train_set if train else self.test_set
        if train:
            indices, dy, dx, flips = self.sampler.next_batch()
        if isinstance(s, datasets.ImageFolder):
            images = np.stack([s.load(int(i), train, self.rng) for i in indices])
        else:
            images = s.images[indices]
            if train:
                images = datasets.shift_flip(images, dy, dx, flips, self.augmentation[2])
        x = datasets.normalise(images, self.env.device)
        y = torch.as_tensor(s.labels[indices], device=self.env.device)
        return x, y

    def train_step(self):
        env, h = self.env, self.hyper
        start = time.perf_counter()
        measure_angles = self.rank0 and (self.step + 1) % h.statsEvery == 0
        if measure_angles:
            for _, conv in self.model.sphere_capable():
                conv.capture_input = True
        self.model.train()
        x, y = self._batch(None, train=True)
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=env.device.type, dtype=self.amp or torch.bfloat16, enabled=self.amp is not None):
            loss, logits = self.ddp(x, y, True)
        if self.scaler:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        reg = apply_orthogonality(self.model, h.orthogonality)
        reg += apply_weight_decay(self.model, h.weightDecay)
        correct = (logits.argmax(dim=1) == y).sum()
        stats = self.env.sum(torch.stack([loss.detach().float() * y.numel(), correct.float(),
                                          torch.tensor(float(y.numel()), device=loss.device)]).to(torch.float64))
        finite = all(p.grad is None or torch.isfinite(p.grad).all() for p in self.model.trained_parameters())
        flag = self.env.sum(torch.tensor([0.0 if finite else 1.0], dtype=torch.float64,
                                         device=stats.device))
        mean_loss = float(stats[0] / stats[2]) if flag.item() == 0 else float("inf")
        if math.isfinite(mean_loss):
            if self.scaler:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.step += 1
        if env.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        r = {"loss": mean_loss, "accuracy": float(stats[1] / stats[2]), "regularization": reg,
             "lr": self.hyper.rate(self.step - 1), "seconds": seconds, "images_per_sec": h.batchSize / seconds}
        if not math.isfinite(mean_loss):
            return r
        self.history.trainLoss.append({"step": self.step, "value": mean_loss})
        self.history.trainAccuracy.append({"step": self.step, "value": r["accuracy"]})
        self.emit({"step": self.step, "loss": mean_loss, "lr": r["lr"], "images_per_sec": r["images_per_sec"]})
        if self.channel:
            self.channel.publish({"type": "step", "step": self.step, "epoch": self.sampler.epoch, "loss": mean_loss,
                                  "accuracy": r["accuracy"], "regularization": reg, "lr": r["lr"],
                                  "images_per_sec": r["images_per_sec"], "seconds": seconds, "state": self.state})
        if measure_angles:
            for name, conv in self.model.sphere_capable():
                conv.capture_input = False
                a = measure(name, conv, self.step)
                conv.last_input = None
                if a is None:
                    continue
                self.history.angleHistory.setdefault(name, AngleHistory()).append(a)
                if self.channel:
                    self.channel.publish({"type": "angles", **a})
        return r

    @torch.no_grad()
    def evaluate(self):
        """Eval-mode accuracy and loss on the first `--eval-limit` test examples, sharded over
        the ranks with rank 0's BatchNorm statistics (the ones a save writes)."""
        env = self.env
        start = time.perf_counter()
        if env.active:
            for b in self.model.buffers():
                if env.backend == "nccl" or b.device.type == "cpu":
                    dist.broadcast(b, 0)
        total = min(len(self.test_set), self.eval_limit or len(self.test_set))
        per = math.ceil(total / env.world)
        lo, hi = min(total, env.rank * per), min(total, (env.rank + 1) * per)
        sums = torch.zeros(4, dtype=torch.float64)
        self.model.eval()
        train_bn = self.args.train_bn_eval
        for first in range(lo, hi, EVAL_BATCH):
            idx = np.arange(first, min(hi, first + EVAL_BATCH))
            x, y = self._batch(idx, train=False)
            with torch.autocast(device_type=env.device.type, dtype=self.amp or torch.bfloat16, enabled=self.amp is not None):
                loss, logits = self.module(x, y, False)
            sums[0] += float(loss) * len(idx)
            sums[1] += float((logits.argmax(1) == y).sum())
            sums[2] += len(idx)
            if train_bn:
                self.model.train()
                for bn in self.model.batch_norms():
                    bn.freeze_statistics = True
                _, lg = self.module(x, y, False)
                sums[3] += float((lg.argmax(1) == y).sum())
                for bn in self.model.batch_norms():
                    bn.freeze_statistics = False
                self.model.eval()
        self.model.train()
        sums = self.env.sum(sums.to(env.device if env.backend == "nccl" else "cpu")).cpu()
        n = max(1.0, sums[2].item())
        acc, loss = sums[1].item() / n, sums[0].item() / n
        seconds = time.perf_counter() - start
        h = self.history
        h.testAccuracy.append({"step": self.step, "value": acc})
        h.testLoss.append({"step": self.step, "value": loss})
        fields = {"step": self.step, "test_accuracy": acc, "test_loss": loss}
        if train_bn:
            tb = sums[3].item() / n
            h.testAccuracyTrainModeBN.append({"step": self.step, "value": tb})
            fields["test_accuracy_train_bn"] = tb
        h.bestTestAccuracy = max(h.bestTestAccuracy or 0.0, acc)
        if self.rank0:
            self.emit(fields)
            self.event(f"test accuracy {100 * acc:.2f}%")
            if self.channel:
                self.channel.publish({"type": "eval", **fields, "examples": int(n), "seconds": seconds})
            if self.pending_eval:
                self._ack(*self.pending_eval, "evaluate", test_accuracy=acc, test_loss=loss)
        self.pending_eval = None
        return fields

    # saving

    def _save_folder(self, name):
        target = name or self.args.save
        if "/" in target:
            return target
        return os.path.join("Sessions", target)

    def save(self, name):
        """Rank 0 writes the snapshot; other ranks go on to the next control broadcast."""
        pending, self.pending_save = self.pending_save, None
        if not self.rank0:
            return
        folder = self._save_folder(name or (pending[2] if pending else None))
        try:
            if getattr(self, "fingerprint", None) is None:
                self.fingerprint = self.train_set.fingerprint()
            layer_variants = {n: c.variant for n, c in self.model.sphere_capable()}
            position = self.sampler.position
            extra = {"producer": "spherelab_torch", "torch": torch.__version__, "worldSize": self.env.world,
                     "backend": self.env.backend or "single", "device": self.env.device.type,
                     "amp": str(self.amp).replace("torch.", "") if self.amp else "off",
                     "dataOrder": "SphereLab's BatchIterator (global batch; each rank its slice)"}
            manifest = build_manifest(name=os.path.basename(folder), run_name=self.run_name, dataset=self.dataset,
                                      spec=self.spec, seed=self.seed, augmentation=self.augmentation,
                                      evaluation_limit=self.eval_limit, hyper=self.hyper, layer_variants=layer_variants,
                                      step=self.step, epoch=self.sampler.epoch, position=position,
                                      fingerprint=self.fingerprint, total_steps=None, history=self.history, extra=extra)
            path = write_snapshot(folder, weight_tensors(self.model), weights_metadata(self.spec),
                                  optimizer_tensors(self.model, self.optimizer, self.step), manifest)
        except (SnapshotError, OSError) as e:
            self.event(f"save failed: {e}", "error")
            if pending:
                pending[0].error("save_failed", str(e), pending[1])
            if not pending:
                raise
            return
        self.event(f"saved {path}")
        self.emit({"step": self.step, "saved": path})
        if pending:
            self._ack(pending[0], pending[1], "save", saved=path)


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        for name, lo in (("steps", 1), ("save_every", 1), ("eval_limit", 1), ("batch", 1), ("threads", 1)):
            v = getattr(args, name)
            if v is not None and v < lo:
                raise UsageError(f"--{name.replace('_', '-')} must be at least {lo}")
        if args.save_every and not args.save:
            raise UsageError("--save-every needs --save NAME")
        if args.threads:
            torch.set_num_threads(args.threads)
        env = Dist()
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        job = Job(args, env)
        job.run()
        return 0
    except (UsageError, ValueError, SnapshotError, datasets.DataError, RuntimeError) as e:
        print(f"error: {e}" + (f" (rank {env.rank})" if env.active else ""), file=sys.stderr)
        return 1
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
