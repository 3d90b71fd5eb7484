import Foundation

/// Experiments that ship with SphereLab, written in the same format as an experiment file
/// (`spherelab experiment show --preset NAME` prints one to start your own from).
public enum ExperimentPresets {
    public static let names = ["smoke", "rq-quick", "deep-plain", "norm", "loss", "paper-cifar"]

    public static func text(_ name: String) -> String? {
        switch name {
        case "smoke": return """
            {
              "name": "smoke",
              "description": "Two variants × two seeds × 30 steps on Fashion-MNIST: checks the runner and the report end to end (2.5 min measured here with the machine shared by other work).",
              "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.25, "optimizer": "adam", "lr": 0.001,
                       "batch": 128, "eval-limit": 500},
              "axes": {"variant": ["conv", "cosine"], "seed": [1, 2]},
              "steps": 30, "eval_every": 10, "save_every": 10,
              "thresholds": [0.5, 0.6],
              "both_eval_modes": true
            }
            """
        case "rq-quick": return """
            {
              "name": "rq-quick",
              "description": "RQ1/RQ3 on this machine: Fashion-MNIST SphereNet-9 ×0.25, every operator × 3 seeds × 1 epoch (469 steps of batch 128), evaluated every 50 steps on the first 2000 test images in both BatchNorm modes.",
              "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.25, "optimizer": "adam", "lr": 0.001,
                       "batch": 128, "loss": "softmax", "normalization": "bn", "eval-limit": 2000},
              "axes": {"variant": ["conv", "cosine", "linear", "sigmoid", "lr-sigmoid"], "seed": [1, 2, 3]},
              "steps": 469, "eval_every": 50, "save_every": 50,
              "thresholds": [0.8, 0.85, 0.87],
              "both_eval_modes": true
            }
            """
        case "deep-plain": return """
            {
              "name": "deep-plain",
              "description": "Plain (no shortcut) nets of growing depth, conv vs cosine vs sigmoid, a short budget: does the plain CNN stall where the SphereNet trains?",
              "base": {"dataset": "fashion-mnist", "width": 0.25, "optimizer": "adam", "lr": 0.001, "batch": 128, "eval-limit": 1000},
              "axes": {"model": ["spherenet9", "spherenet18", "spherenet30", "spherenet42"],
                       "variant": ["conv", "cosine", "sigmoid"], "seed": [1, 2, 3]},
              "steps": 200, "eval_every": 25, "save_every": 50,
              "thresholds": [0.5, 0.7, 0.8],
              "both_eval_modes": true
            }
            """
        case "norm": return """
            {
              "name": "norm",
              "description": "RQ4: BatchNorm vs SphereNorm vs SphereNorm+BN after cosine SphereConv (and plain conv with BN as a reference).",
              "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.25, "optimizer": "adam", "lr": 0.001,
                       "batch": 128, "variant": "cosine", "eval-limit": 1000},
              "axes": {"norm": [{"label": "conv+bn", "variant": "conv", "normalization": "bn"},
                                {"label": "bn", "normalization": "bn"},
                                {"label": "spherenorm", "normalization": "spherenorm"},
                                {"label": "spherenorm+bn", "normalization": "spherenorm+bn"}],
                       "seed": [1, 2, 3]},
              "baseline": {"norm": "conv+bn"},
              "steps": 300, "eval_every": 50, "save_every": 50,
              "thresholds": [0.8, 0.85],
              "both_eval_modes": true
            }
            """
        case "loss": return """
            {
              "name": "loss",
              "description": "RQ3: softmax vs W-Softmax vs GA-Softmax at margins 1, 2, 4 on cosine SphereNet-9 (plain conv + softmax as the reference).",
              "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.25, "optimizer": "adam", "lr": 0.001,
                       "batch": 128, "variant": "cosine", "eval-limit": 1000},
              "axes": {"head": [{"label": "conv softmax", "variant": "conv", "loss": "softmax"},
                                {"label": "softmax", "loss": "softmax"},
                                {"label": "w-softmax", "loss": "w-softmax"},
                                {"label": "ga-softmax m1", "loss": "ga-softmax", "margin": 1},
                                {"label": "ga-softmax m2", "loss": "ga-softmax", "margin": 2},
                                {"label": "ga-softmax m4", "loss": "ga-softmax", "margin": 4}],
                       "seed": [1, 2, 3]},
              "baseline": {"head": "conv softmax"},
              "steps": 300, "eval_every": 50, "save_every": 50,
              "thresholds": [0.8, 0.85],
              "both_eval_modes": true
            }
            """
        case "paper-cifar": return """
            {
              "name": "paper-cifar",
              "description": "The paper's CIFAR-10 grid at its budget: SphereNet-9 (×1) and SphereResNet-32, every operator, each compared with plain convolution in the same architecture (CNN-9, ResNet-32); Adam 1e-3 ÷10 at 34k and 54k, 64k iterations, batch 128, full test set every 500 iterations. Needs CIFAR-10 in Datasets/ and days on a small machine.",
              "base": {"dataset": "cifar-10", "width": 1, "optimizer": "adam", "lr": 0.001, "lr-milestones": "34000,54000",
                       "batch": 128, "loss": "softmax"},
              "axes": {"arch": [{"label": "spherenet9", "model": "spherenet9", "augment": "flip"},
                                {"label": "sphereresnet32", "model": "sphereresnet32", "augment": "flip+crop"}],
                       "variant": ["conv", "cosine", "linear", "sigmoid", "lr-sigmoid"],
                       "seed": [1, 2, 3]},
              "baseline": {"variant": "conv"},
              "steps": 64000, "eval_every": 500, "save_every": 500,
              "thresholds": [0.8, 0.85, 0.9],
              "both_eval_modes": true
            }
            """
        default: return nil
        }
    }

    public static func spec(_ name: String) throws -> ExperimentSpec {
        guard let t = text(name) else {
            throw ExperimentError("unknown preset '\(name)': use \(names.joined(separator: ", "))")
        }
        return try ExperimentSpec.parse(Data(t.utf8), origin: "preset \(name)")
    }
}
