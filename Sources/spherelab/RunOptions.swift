import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

/// Options shared by every command that starts a run. Hyperparameters are optional so
/// that a resumed run can tell which ones the user gave (those override the snapshot's).
struct RunOptions: ParsableArguments {
    func validate() throws {
        try DatasetsFolder.check(datasetsDir)
    }

    @Option(help: "Dataset: fashion-mnist, mnist, cifar-10, cifar-100 (default fashion-mnist).") var dataset: String?
    @Option(help: "Model: spherenet9 (spherenetN for deeper plain nets, N a multiple of 3), sphereresnet32 (N = 6n+2). Default spherenet9.") var model: String?
    @Option(parsing: .unconditional, help: "Width multiplier of every stage (default 0.25 → 32/48/64 channels).") var width: Double?
    @Option(help: "Operator: conv, cosine, linear, sigmoid, sigmoid:K, lr-sigmoid (default cosine).") var variant: String?
    @Option(help: "Optimizer: adam or sgd (default adam).") var optimizer: String?
    @Option(parsing: .unconditional, help: "Learning rate (default 1e-3).") var lr: String?
    @Option(parsing: .unconditional, help: "SGD momentum (default 0.9).") var momentum: String?
    @Option(name: .customLong("lr-milestones"), help: "Steps where the learning rate drops ×0.1, comma-separated (e.g. 34000,54000).") var milestones: String?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "Coupled L2 on classifier, BN and plain-conv weights (default 5e-4).") var weightDecay: String?
    @Option(parsing: .unconditional, help: "Orthogonality penalty weight on SphereConv layers (default 1e-4).") var orthogonality: String?
    @Option(help: "Loss: softmax, softmax-authors, w-softmax, ga-softmax[:cosine|linear|sigmoid] (default softmax).") var loss: String?
    @Option(parsing: .unconditional, help: "GA-Softmax margin m (default 1).") var margin: String?
    @Option(parsing: .unconditional, help: "Batch size (default 128).") var batch: String?
    @Option(name: .customLong("eval-every"), parsing: .unconditional, help: "Evaluate on the test set every N steps (default 500; 0: only at the end).") var evalEvery: String?
    @Option(name: .customLong("eval-limit"), parsing: .unconditional, help: "Test examples per evaluation (default: all).") var evalLimit: String?
    @Option(help: "BatchNorm running statistics: pytorch or paper (default pytorch).") var bnStats: String?
    @Option(help: "After each SphereConv: bn, spherenorm or spherenorm+bn (default bn).") var normalization: String?
    @Option(name: .customLong("fc6-bn"), help: "BatchNorm after fc6 (SphereNet): on or off (default on).") var fc6BN: String?
    @Option(help: "Augmentation: default, none, flip, crop, flip+crop.") var augment: String?
    @Option(help: "Random seed for weights, data order and augmentation (default 1).") var seed: UInt64?
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = DatasetsFolder.defaultPath
    @Option(parsing: .unconditional, help: "BLAS threads (default: all cores).") var threads: String?

    /// A new run's request: defaults for what was not given.
    func request(steps: Int?) throws -> RunRequest {
        var r = RunRequest()
        let name = (dataset ?? "fashion-mnist").lowercased()
        guard let kind = DatasetKind(rawValue: name) else {
            throw ValidationError("unknown dataset '\(name)': use \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        r.dataset = kind
        r.modelName = (model ?? "spherenet9").lowercased()
        r.width = width ?? 0.25
        r.seed = seed ?? 1
        r.steps = steps
        if let e = evalLimit { r.evaluationLimit = try checked { try Settings.evaluationLimit.parse(e) } }
        r.datasetsDirectory = datasetsDir
        do {
            _ = try ModelSpec.parseModelName(r.modelName)
            r.hyper.variant = .cosine
            _ = try applyHyperparameters(to: &r.hyper)
        } catch let e as EngineError {
            throw ValidationError(e.message)
        }
        guard let stats = BatchNormStatistics(rawValue: bnStats ?? "pytorch") else { throw ValidationError("--bn-stats must be pytorch or paper") }
        r.batchNormStatistics = stats
        guard let norm = ModelSpec.Normalization(rawValue: normalization ?? "bn") else {
            throw ValidationError("--normalization must be bn, spherenorm or spherenorm+bn")
        }
        r.normalization = norm
        switch fc6BN ?? "on" {
        case "on": r.fc6BatchNorm = true
        case "off": r.fc6BatchNorm = false
        default: throw ValidationError("--fc6-bn must be on or off")
        }
        _ = try checked { try Settings.width.check(r.width) }
        switch augment ?? "default" {
        case "default": r.augmentation = nil
        case "none": r.augmentation = Augmentation.none
        case "flip": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 0, mirrorPad: false)
        case "crop": r.augmentation = Augmentation(horizontalFlip: false, padCrop: 4, mirrorPad: true)
        case "flip+crop": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 4, mirrorPad: true)
        default: throw ValidationError("--augment must be default, none, flip, crop or flip+crop")
        }
        _ = try checkedThreads()
        return r
    }

    /// Applies the hyperparameters given on the command line; returns what changed (for a
    /// resumed run's "overrides" message).
    /// `--eval-limit` for a resumed run (nil: keep the snapshot's), checked.
    func checkedEvaluationLimit() throws -> Int? {
        guard let e = evalLimit else { return nil }
        return try checked { try Settings.evaluationLimit.parse(e) }
    }

    func applyHyperparameters(to h: inout Hyperparameters) throws -> [String] {
        var changed: [String] = []
        if let v = variant { h.variant = try ConvVariant(parsing: v); changed.append("variant \(h.variant)") }
        if optimizer != nil || momentum != nil {
            let current = h.optimizer.name
            var m: Float = 0.9
            if case .sgd(let old) = h.optimizer { m = old }
            h.optimizer = try OptimizerKind.parse(optimizer ?? current, momentum: try momentum.map { try Settings.momentum.parse($0) } ?? m)
            changed.append("optimizer \(h.optimizer)")
        }
        if lr != nil || milestones != nil {
            let drops = try (milestones ?? "").split(separator: ",").map { part -> Int in
                    return try Settings.milestone.parse(String(part))
            }
            let base = try lr.map { try Settings.learningRate.parse($0) } ?? h.schedule.base
            h.schedule = LearningRateSchedule(base: base, milestones: milestones == nil ? h.schedule.milestones : drops, factor: h.schedule.factor)
            changed.append("learning rate \(h.schedule.base)")
        }
        if let w = try weightDecay.map({ try Settings.weightDecay.parse($0) }) { h.weightDecay = w; changed.append("weight decay \(w)") }
        if let o = try orthogonality.map({ try Settings.orthogonality.parse($0) }) { h.orthogonality = o; changed.append("orthogonality \(o)") }
        if loss != nil || margin != nil {
            let given = try margin.map { try Settings.margin.parse($0) }
            var m = given ?? 1
            if given == nil, case .generalizedAngular(let old, _) = h.head { m = old }
            let l = try LossChoice(parsing: loss ?? LossChoice(head: h.head, crossEntropy: h.crossEntropy).name.components(separatedBy: " ")[0],
                                   margin: m, variant: h.variant)
            h.head = l.head; h.crossEntropy = l.crossEntropy
            changed.append("loss \(l.name)")
        }
        if let b = try batch.map({ try Settings.batchSize.parse($0) }) { h.batchSize = b; changed.append("batch \(b)") }
        if let e = try evalEvery.map({ try Settings.evalEvery.parse($0) }) { h.evalEvery = e; changed.append("eval every \(e)") }
        try h.validate()
        return changed
    }

    /// Options that fix the run's identity and cannot change on resume.
    var identityOptionsGiven: [String] {
        [("--dataset", dataset != nil), ("--model", model != nil), ("--width", width != nil), ("--seed", seed != nil),
         ("--bn-stats", bnStats != nil), ("--normalization", normalization != nil), ("--augment", augment != nil),
         ("--fc6-bn", fc6BN != nil)]
            .filter { $0.1 }.map { $0.0 }
    }

    /// `--threads`, checked through `Settings.threads` (new runs and resumed ones alike).
    func checkedThreads() throws -> Int? {
        guard let t = threads else { return nil }
        return try checked { try Settings.threads.parse(t) }
    }

    /// Sets the BLAS threads; call after `checkedThreads` (validation) has passed.
    func applyThreads() { if let t = try? checkedThreads() { BLASThreads.set(t) } }

    /// Runs a Settings check, turning its refusal into the command line's validation error.
    func checked<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as EngineError { throw ValidationError(e.message) }
    }
}

/// Prints `error: …` on stderr and ends with status 1.
