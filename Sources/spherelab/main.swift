import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI

/// Options shared by every command that starts a run.
struct RunOptions: ParsableArguments {
    @Option(help: "Dataset: fashion-mnist, mnist, cifar-10, cifar-100.") var dataset = "fashion-mnist"
    @Option(help: "Model: spherenet9 (spherenetN for deeper plain nets, N a multiple of 3), sphereresnet32 (N = 6n+2).") var model = "spherenet9"
    @Option(help: "Width multiplier of every stage (0.25 → 32/48/64 channels).") var width = 0.25
    @Option(help: "Operator: conv, cosine, linear, sigmoid, sigmoid:K, lr-sigmoid.") var variant = "cosine"
    @Option(help: "Optimizer: adam or sgd.") var optimizer = "adam"
    @Option(help: "Learning rate.") var lr: Float = 1e-3
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(name: .customLong("lr-milestones"), help: "Steps where the learning rate drops ×0.1, comma-separated (e.g. 34000,54000).") var milestones = ""
    @Option(name: .customLong("weight-decay"), help: "Coupled L2 on classifier, BN and plain-conv weights.") var weightDecay: Float = 5e-4
    @Option(help: "Orthogonality penalty weight on SphereConv layers.") var orthogonality: Float = 1e-4
    @Option(help: "Loss: softmax, softmax-authors, w-softmax, ga-softmax[:cosine|linear|sigmoid].") var loss = "softmax"
    @Option(help: "GA-Softmax margin m.") var margin = 1
    @Option(help: "Batch size.") var batch = 128
    @Option(name: .customLong("eval-every"), help: "Evaluate on the test set every N steps (0: only at the end).") var evalEvery = 500
    @Option(name: .customLong("eval-limit"), help: "Test examples per evaluation (default: all).") var evalLimit: Int?
    @Option(help: "BatchNorm running statistics: pytorch or paper.") var bnStats = "pytorch"
    @Option(help: "After each SphereConv: bn, spherenorm or spherenorm+bn.") var normalization = "bn"
    @Option(help: "Augmentation: default, none, flip, crop, flip+crop.") var augment = "default"
    @Option(help: "Random seed (weights, data order, augmentation).") var seed: UInt64 = 1
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = "Datasets"
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?

    func request(steps: Int?) throws -> RunRequest {
        var r = RunRequest()
        guard let kind = DatasetKind(rawValue: dataset.lowercased()) else {
            throw ValidationError("unknown dataset '\(dataset)': use \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        r.dataset = kind
        r.modelName = model.lowercased()
        r.width = width
        r.seed = seed
        r.steps = steps
        r.evaluationLimit = evalLimit
        r.datasetsDirectory = datasetsDir
        do {
            _ = try ModelSpec.parseModelName(model)
            let v = try ConvVariant(parsing: variant)
            r.hyper.variant = v
            r.hyper.optimizer = try OptimizerKind.parse(optimizer, momentum: momentum)
            let drops = try milestones.split(separator: ",").map { part -> Int in
                guard let s = Int(part.trimmingCharacters(in: .whitespaces)), s > 0 else { throw EngineError("bad milestone '\(part)' in --lr-milestones") }
                return s
            }
            r.hyper.schedule = LearningRateSchedule(base: lr, milestones: drops)
            r.hyper.weightDecay = weightDecay
            r.hyper.orthogonality = orthogonality
            let l = try LossChoice(parsing: loss, margin: margin, variant: v)
            r.hyper.head = l.head
            r.hyper.crossEntropy = l.crossEntropy
            r.hyper.batchSize = batch
            r.hyper.evalEvery = evalEvery
            try r.hyper.validate()
        } catch let e as EngineError {
            throw ValidationError(e.message)
        }
        guard let stats = BatchNormStatistics(rawValue: bnStats) else { throw ValidationError("--bn-stats must be pytorch or paper") }
        r.batchNormStatistics = stats
        guard let norm = ModelSpec.Normalization(rawValue: normalization) else {
            throw ValidationError("--normalization must be bn, spherenorm or spherenorm+bn")
        }
        r.normalization = norm
        guard width > 0, width <= 8 else { throw ValidationError("--width must be in (0, 8]") }
        if let e = evalLimit, e < 1 { throw ValidationError("--eval-limit must be at least 1") }
        switch augment {
        case "default": r.augmentation = nil
        case "none": r.augmentation = Augmentation.none
        case "flip": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 0, mirrorPad: false)
        case "crop": r.augmentation = Augmentation(horizontalFlip: false, padCrop: 4, mirrorPad: true)
        case "flip+crop": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 4, mirrorPad: true)
        default: throw ValidationError("--augment must be default, none, flip, crop or flip+crop")
        }
        if let t = threads {
            guard (1...256).contains(t) else { throw ValidationError("--threads must be in 1…256") }
        }
        return r
    }

    func applyThreads() { if let t = threads { BLASThreads.set(t) } }
}

/// Prints `error: …` on stderr and ends with status 1.
func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode.failure
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train headless: a progress bar on a terminal, JSON lines with --json.")
    @OptionGroup var options: RunOptions
    @Option(help: "Training steps (default: one epoch).") var steps: Int?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(name: .customLong("train-bn-eval"), help: "Also report test accuracy with BatchNorm in train mode.") var trainBNEval = false

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let request = try options.request(steps: steps)
        options.applyThreads()
        let style: HeadlessTraining.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressBar : .plain)
        var job = HeadlessTraining(request: request, style: style)
        job.trainModeEvaluation = trainBNEval
        do {
            let trainer = try request.makeTrainer()
            try job.run(trainer: trainer)
        } catch {
            throw failure("\(error)")
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure training and inference images/second (batch 128, synthetic data).")
    @Option(help: "fmnist-w0.25, fmnist-w0.5, cifar-w1 or all.") var config = "fmnist-w0.25"
    @Option(help: "conv, cosine, linear, sigmoid, lr-sigmoid or all.") var variant = "all"
    @Option(help: "Timed steps (after 3 warm-up steps).") var steps = 10
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Flag(help: "Skip the inference measurement.") var noInference = false
    @Flag(help: "Print one JSON object per line.") var json = false

    func validate() throws {
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps must be in 1…10000") }
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be in 1…1024") }
    }

    func run() throws {
        let configs: [Benchmark.Configuration]
        let variants: [ConvVariant]
        do {
            configs = try Benchmark.Configuration.named(config)
            variants = variant == "all" ? ConvVariant.cycle : [try ConvVariant(parsing: variant)]
        } catch let e as EngineError { throw ValidationError(e.message) }
        if let t = threads { BLASThreads.set(t) }
        var bench = Benchmark()
        bench.steps = steps
        bench.batch = batch
        for c in configs {
            for v in variants {
                var results = [try bench.measureTraining(c, variant: v)]
                if !noInference { results.append(try bench.measureInference(c, variant: v)) }
                for r in results {
                    if json {
                        print(JSONLine.object([("config", .string(r.configuration)), ("variant", .string(r.variant)), ("mode", .string(r.mode)),
                                               ("images_per_sec", .double(r.imagesPerSecond)), ("median_step_ms", .double(1000 * r.medianStepSeconds)),
                                               ("batch", .int(batch)), ("threads", .int(BLASThreads.count))]))
                    } else {
                        let label = r.configuration.padding(toLength: 14, withPad: " ", startingAt: 0)
                            + r.variant.padding(toLength: 12, withPad: " ", startingAt: 0) + r.mode.padding(toLength: 10, withPad: " ", startingAt: 0)
                        print(label + String(format: "%8.1f img/s  (median %.1f ms per batch of %d)", r.imagesPerSecond, 1000 * r.medianStepSeconds, batch))
                    }
                }
            }
        }
    }
}

struct Workbench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the workbench: train live in the terminal and steer the run (the default).")
    @OptionGroup var options: RunOptions
    @Option(help: "Stop after this many steps (default: train until you quit).") var steps: Int?
    @Option(help: "Open this snapshot folder and continue it (paused).") var resume: String?
    @Option(name: .customLong("sessions-dir"), help: "Where snapshots are saved and listed.") var sessionsDir = "Sessions"
    @Flag(help: "Draw with ASCII characters only (no braille or box lines).") var ascii = false

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        guard Terminal.isInteractive else {
            throw failure("the workbench needs a terminal (stdin and stdout a TTY); for scripts use `spherelab train`")
        }
        let request = try options.request(steps: steps)
        options.applyThreads()
        let archive = SessionArchive(root: sessionsDir, datasetsDirectory: options.datasetsDir)
        let controller: TrainingController
        do {
            if let resume {
                FileHandle.standardError.write(Data("opening \(resume)…\n".utf8))
                controller = try archive.restore(path: resume)
            } else {
                FileHandle.standardError.write(Data("loading \(request.dataset.rawValue)…\n".utf8))
                let trainer = try request.makeTrainer()
                controller = TrainingController(trainer: trainer, runName: request.runName, totalSteps: steps)
            }
        } catch {
            throw failure("\(error)")
        }
        let sessions = archive.isUsable ? archive : nil
        let runner = WorkbenchRunner(controller: controller, sessions: sessions, glyphs: ascii ? .ascii : .unicode)
        do {
            try runner.run()
        } catch {
            throw failure("\(error)")
        }
        let t = runner.telemetry
        print("stopped at step \(t.step)" + (t.bestTestAccuracy.map { String(format: ", best test accuracy %.2f%%", 100 * $0) } ?? ""))
    }
}

struct SphereLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spherelab",
        abstract: "Train hyperspherical convolutional networks (SphereNet) on the CPU and watch them learn.",
        subcommands: [Workbench.self, Train.self, Bench.self],
        defaultSubcommand: Workbench.self)
}

SphereLabCommand.main()
