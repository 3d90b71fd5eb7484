"""session.json in SphereLab's schema (SessionManifest.swift): the run's setup, live
hyperparameters, position and history, so a run continues on either side.

Enums are encoded the way Swift's synthesised Codable does (`{"cosine": {}}`,
`{"sigmoid": {"k": 0.3}}`, `{"adam": {"beta1": …}}`); optionals are omitted when absent.
A `pytorch` object carries what only this package knows (world size, device); SphereLab's
decoder ignores fields it does not know.
"""
import datetime
from dataclasses import dataclass, field

from .heads import CrossEntropyOptions, HeadKind
from .ops import Variant


SPHERELAB_MAX_BATCH = 1024     # Hyperparameters.batchSizeRange's upper end


@dataclass
class Hyper:
    """Hyperparameters.swift."""
    variant: Variant = field(default_factory=lambda: Variant("cosine"))
    optimizer: str = "adam"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    lr: float = 1e-3
    milestones: list = field(default_factory=list)
    factor: float = 0.1
    weightDecay: float = 5e-4
    orthogonality: float = 1e-4
    head: HeadKind = field(default_factory=HeadKind)
    crossEntropy: CrossEntropyOptions = field(default_factory=CrossEntropyOptions)
    batchSize: int = 128
    evalEvery: int = 500
    statsEvery: int = 25

    def rate(self, step):
        """LearningRateSchedule.rate(at:): base · factor^(milestones ≤ step)."""
        return self.lr * self.factor ** sum(1 for m in self.milestones if m <= step)

    def set_rate(self, rate, step):
        """Makes the rate at `step` equal `rate`; later milestones still apply."""
        self.lr = rate / self.factor ** sum(1 for m in self.milestones if m <= step)

    def validate(self):
        if not (1 <= self.batchSize <= 1024 * 1024):
            raise ValueError(f"batch size {self.batchSize} must be at least 1")
        if not (0 < self.lr <= 10):
            raise ValueError(f"learning rate {self.lr} must be in (0, 10]")
        if not (0 <= self.weightDecay < 1):
            raise ValueError(f"weight decay {self.weightDecay} must be in [0, 1)")
        if not (0 <= self.orthogonality < 10):
            raise ValueError(f"orthogonality weight {self.orthogonality} must be in [0, 10)")
        if self.evalEvery < 0 or self.statsEvery < 1:
            raise ValueError("evaluation and statistics intervals must be positive")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer '{self.optimizer}': use adam or sgd")
        if not (0 <= self.momentum < 1):
            raise ValueError(f"SGD momentum {self.momentum} must be in [0, 1)")
        self.head.validate()
        self.crossEntropy.validate()

    def to_json(self):
        opt = ({"adam": {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.adam_eps}}
               if self.optimizer == "adam" else {"sgd": {"momentum": self.momentum}})
        return {"variant": self.variant.to_json(), "optimizer": opt,
                "schedule": {"base": self.lr, "milestones": list(self.milestones), "factor": self.factor},
                "weightDecay": self.weightDecay, "orthogonality": self.orthogonality,
                "head": self.head.to_json(),
                "crossEntropy": {"labelSmoothing": self.crossEntropy.labelSmoothing,
                                 "probabilityFloor": self.crossEntropy.probabilityFloor},
                # SphereLab refuses batches above its maximum when it opens a session; the job's
                # own (global) batch then travels in the `pytorch` object (see build_manifest).
                "batchSize": min(self.batchSize, SPHERELAB_MAX_BATCH),
                "evalEvery": self.evalEvery, "statsEvery": self.statsEvery}

    @classmethod
    def from_json(cls, o):
        h = cls()
        h.variant = Variant.from_json(o["variant"])
        (name, body), = o["optimizer"].items()
        h.optimizer = name
        if name == "adam":
            h.beta1, h.beta2, h.adam_eps = float(body["beta1"]), float(body["beta2"]), float(body["epsilon"])
        else:
            h.momentum = float(body["momentum"])
        s = o["schedule"]
        h.lr, h.milestones, h.factor = float(s["base"]), sorted(int(m) for m in s.get("milestones", [])), float(s.get("factor", 0.1))
        h.weightDecay, h.orthogonality = float(o["weightDecay"]), float(o["orthogonality"])
        h.head = HeadKind.from_json(o["head"])
        ce = o["crossEntropy"]
        h.crossEntropy = CrossEntropyOptions(float(ce["labelSmoothing"]), float(ce["probabilityFloor"]))
        h.batchSize, h.evalEvery, h.statsEvery = int(o["batchSize"]), int(o["evalEvery"]), int(o.get("statsEvery", 25))
        h.validate()
        return h


@dataclass
class History:
    """The charts' history (Telemetry / SessionManifest.Metrics) plus events and angles."""
    trainLoss: list = field(default_factory=list)
    trainAccuracy: list = field(default_factory=list)
    testLoss: list = field(default_factory=list)
    testAccuracy: list = field(default_factory=list)
    testAccuracyTrainModeBN: list = field(default_factory=list)
    bestTestAccuracy: float = None
    events: list = field(default_factory=list)
    angleHistory: dict = field(default_factory=dict)     # layer → AngleHistory

    def metrics_json(self):
        m = {k: getattr(self, k) for k in ("trainLoss", "trainAccuracy", "testLoss", "testAccuracy", "testAccuracyTrainModeBN")}
        if self.bestTestAccuracy is not None:
            m["bestTestAccuracy"] = self.bestTestAccuracy
        return m

    @classmethod
    def from_manifest(cls, o):
        from .angles import AngleHistory
        m = o.get("metrics", {})
        h = cls(**{k: list(m.get(k, [])) for k in ("trainLoss", "trainAccuracy", "testLoss", "testAccuracy", "testAccuracyTrainModeBN")})
        h.bestTestAccuracy = m.get("bestTestAccuracy")
        h.events = list(o.get("events", []))
        h.angleHistory = {k: AngleHistory(v.get("entries", [])) for k, v in o.get("angleHistory", {}).items()}
        return h


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_manifest(*, name, run_name, dataset, spec, seed, augmentation, evaluation_limit, hyper, layer_variants,
                   step, epoch, position, fingerprint, total_steps, history, extra):
    flip, pad, mirror = augmentation
    setup = {"dataset": dataset, "model": spec.to_json(), "seed": seed,
             "augmentation": {"horizontalFlip": flip, "padCrop": pad, "mirrorPad": mirror}}
    if evaluation_limit is not None:
        setup["evaluationLimit"] = evaluation_limit
    summary = {"name": name, "runName": run_name, "savedAt": now_iso(), "step": step, "dataset": dataset,
               "model": spec.display_name, "variant": hyper.variant.description}
    if history.bestTestAccuracy is not None:
        summary["bestTestAccuracy"] = history.bestTestAccuracy
    m = {"format": "spherelab-session", "version": 1, "summary": summary, "runName": run_name, "setup": setup,
         "hyper": hyper.to_json(), "layerVariants": {k: v.to_json() for k, v in layer_variants.items()},
         "step": step, "epoch": epoch, "dataPosition": position, "datasetFingerprint": fingerprint,
         "metrics": history.metrics_json(), "events": history.events,
         "angleHistory": {k: v.to_json() for k, v in history.angleHistory.items()},
         "pytorch": dict(extra, batchSize=hyper.batchSize)}
    if total_steps is not None:
        m["totalSteps"] = total_steps
    return m
