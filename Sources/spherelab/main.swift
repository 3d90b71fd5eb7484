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
    @Option(help: "Dataset: fashion-mnist, mnist, cifar-10, cifar-100 (default fashion-mnist).") var dataset: String?
    @Option(help: "Model: spherenet9 (spherenetN for deeper plain nets, N a multiple of 3), sphereresnet32 (N = 6n+2). Default spherenet9.") var model: String?
    @Option(help: "Width multiplier of every stage (default 0.25 → 32/48/64 channels).") var width: Double?
    @Option(help: "Operator: conv, cosine, linear, sigmoid, sigmoid:K, lr-sigmoid (default cosine).") var variant: String?
    @Option(help: "Optimizer: adam or sgd (default adam).") var optimizer: String?
    @Option(help: "Learning rate (default 1e-3).") var lr: Float?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(name: .customLong("lr-milestones"), help: "Steps where the learning rate drops ×0.1, comma-separated (e.g. 34000,54000).") var milestones: String?
    @Option(name: .customLong("weight-decay"), help: "Coupled L2 on classifier, BN and plain-conv weights (default 5e-4).") var weightDecay: Float?
    @Option(help: "Orthogonality penalty weight on SphereConv layers (default 1e-4).") var orthogonality: Float?
    @Option(help: "Loss: softmax, softmax-authors, w-softmax, ga-softmax[:cosine|linear|sigmoid] (default softmax).") var loss: String?
    @Option(help: "GA-Softmax margin m (default 1).") var margin: Int?
    @Option(help: "Batch size (default 128).") var batch: Int?
    @Option(name: .customLong("eval-every"), help: "Evaluate on the test set every N steps (default 500; 0: only at the end).") var evalEvery: Int?
    @Option(name: .customLong("eval-limit"), help: "Test examples per evaluation (default: all).") var evalLimit: Int?
    @Option(help: "BatchNorm running statistics: pytorch or paper (default pytorch).") var bnStats: String?
    @Option(help: "After each SphereConv: bn, spherenorm or spherenorm+bn (default bn).") var normalization: String?
    @Option(help: "Augmentation: default, none, flip, crop, flip+crop.") var augment: String?
    @Option(help: "Random seed for weights, data order and augmentation (default 1).") var seed: UInt64?
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = "Datasets"
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?

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
        r.evaluationLimit = evalLimit
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
        guard r.width > 0, r.width <= 8 else { throw ValidationError("--width must be in (0, 8]") }
        if let e = evalLimit, e < 1 { throw ValidationError("--eval-limit must be at least 1") }
        switch augment ?? "default" {
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

    /// Applies the hyperparameters given on the command line; returns what changed (for a
    /// resumed run's "overrides" message).
    func applyHyperparameters(to h: inout Hyperparameters) throws -> [String] {
        var changed: [String] = []
        if let v = variant { h.variant = try ConvVariant(parsing: v); changed.append("variant \(h.variant)") }
        if optimizer != nil || momentum != nil {
            let current = h.optimizer.name
            var m: Float = 0.9
            if case .sgd(let old) = h.optimizer { m = old }
            h.optimizer = try OptimizerKind.parse(optimizer ?? current, momentum: momentum ?? m)
            changed.append("optimizer \(h.optimizer)")
        }
        if lr != nil || milestones != nil {
            let drops = try (milestones ?? "").split(separator: ",").map { part -> Int in
                guard let s = Int(part.trimmingCharacters(in: .whitespaces)), s > 0 else { throw EngineError("bad milestone '\(part)' in --lr-milestones") }
                return s
            }
            h.schedule = LearningRateSchedule(base: lr ?? h.schedule.base, milestones: milestones == nil ? h.schedule.milestones : drops)
            changed.append("learning rate \(h.schedule.base)")
        }
        if let w = weightDecay { h.weightDecay = w; changed.append("weight decay \(w)") }
        if let o = orthogonality { h.orthogonality = o; changed.append("orthogonality \(o)") }
        if loss != nil || margin != nil {
            var m = margin ?? 1
            if margin == nil, case .generalizedAngular(let old, _) = h.head { m = old }
            let l = try LossChoice(parsing: loss ?? LossChoice(head: h.head, crossEntropy: h.crossEntropy).name.components(separatedBy: " ")[0],
                                   margin: m, variant: h.variant)
            h.head = l.head; h.crossEntropy = l.crossEntropy
            changed.append("loss \(l.name)")
        }
        if let b = batch { h.batchSize = b; changed.append("batch \(b)") }
        if let e = evalEvery { h.evalEvery = e; changed.append("eval every \(e)") }
        try h.validate()
        return changed
    }

    /// Options that fix the run's identity and cannot change on resume.
    var identityOptionsGiven: [String] {
        [("--dataset", dataset != nil), ("--model", model != nil), ("--width", width != nil), ("--seed", seed != nil),
         ("--bn-stats", bnStats != nil), ("--normalization", normalization != nil), ("--augment", augment != nil)]
            .filter { $0.1 }.map { $0.0 }
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
    @Option(help: "Training steps (default: one epoch; with --resume: steps to add).") var steps: Int?
    @Option(help: "Write a snapshot at the end: a name under Sessions/, or a folder path.") var save: String?
    @Option(name: .customLong("save-every"), help: "Also write the snapshot every N steps (needs --save).") var saveEvery: Int?
    @Option(help: "Continue the run saved in this snapshot folder.") var resume: String?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(name: .customLong("train-bn-eval"), help: "Also report test accuracy with BatchNorm in train mode.") var trainBNEval = false

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        if let e = saveEvery {
            guard e >= 1 else { throw ValidationError("--save-every must be at least 1") }
            guard save != nil else { throw ValidationError("--save-every needs --save NAME") }
        }
        if resume != nil, !options.identityOptionsGiven.isEmpty {
            throw ValidationError("\(options.identityOptionsGiven.joined(separator: ", ")) cannot change when resuming: the snapshot fixes them")
        }
    }

    func run() throws {
        options.applyThreads()
        let style: HeadlessTraining.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressBar : .plain)
        do {
            let target = try save.map { try SessionArchive.target(for: $0, datasetsDirectory: options.datasetsDir) }
            var job = HeadlessTraining(style: style)
            let run: OpenedRun
            if let resume {
                let archive = SessionArchive(datasetsDirectory: options.datasetsDir)
                var changes: [String] = []
                let (restored, manifest) = try archive.restore(path: resume) { h in
                    changes = try options.applyHyperparameters(to: &h)
                }
                run = restored
                let note = "resumed \(resume) at step \(manifest.step)" + (changes.isEmpty ? "" : "; command line overrides the snapshot: " + changes.joined(separator: ", "))
                run.session.note(note, marker: "resumed")
                // Through the same unbuffered writer as the training lines, so it comes first.
                job.write(json ? JSONLine.object([("step", .int(manifest.step)), ("resumed", .string(resume)),
                                                  ("overrides", .string(changes.joined(separator: "; ")))]) : note)
            } else {
                run = try options.request(steps: steps).open()
            }
            job.saveTarget = target
            job.saveEvery = saveEvery
            try job.run(run, steps: steps, trainModeEvaluation: trainBNEval)
        } catch let e as ValidationError {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a snapshot, or a bare safetensors weights file, on a test set.")
    @Option(help: "A snapshot folder.") var session: String?
    @Option(help: "A safetensors file with SphereLab/PyTorch parameter names (needs --model, --width, --variant, --dataset).") var weights: String?
    @Option(help: "Dataset (default: the snapshot's).") var dataset: String?
    @Option(help: "Model for --weights (default spherenet9).") var model: String?
    @Option(help: "Width for --weights (default 0.25).") var width: Double?
    @Option(help: "Variant for --weights (default cosine).") var variant: String?
    @Option(help: "BatchNorm statistics the weights were trained with (default pytorch).") var bnStats: String?
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = "Datasets"
    @Option(name: .customLong("eval-limit"), help: "Test examples (default: all).") var evalLimit: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (session == nil) != (weights == nil) else { throw ValidationError("give exactly one of --session PATH or --weights FILE") }
        if let e = evalLimit, e < 1 { throw ValidationError("--eval-limit must be at least 1") }
    }

    func run() throws {
        do {
            let trainer: Trainer
            if let session {
                let archive = SessionArchive(datasetsDirectory: datasetsDir)
                if let dataset, dataset.lowercased() != (try archive.readManifest(archive.store.load(path: session), path: session)).setup.dataset.rawValue {
                    trainer = try Eval.retarget(archive: archive, session: session, dataset: dataset, datasetsDir: datasetsDir)
                } else {
                    trainer = try archive.restore(path: session).0.trainer
                }
            } else {
                var options = try RunOptions.parse([])
                options.dataset = dataset; options.model = model; options.width = width; options.variant = variant
                options.bnStats = bnStats; options.datasetsDir = datasetsDir
                let request = try options.request(steps: nil)
                trainer = try request.makeTrainer()
                let file = try SafeTensors.read(path: weights!)
                try SessionArchive.load(weights: file.tensors, into: trainer.network, path: weights!)
            }
            let e = try trainer.evaluate(limit: evalLimit)
            if json {
                print(JSONLine.object([("test_accuracy", .double(e.accuracy)), ("test_loss", .double(e.loss)), ("examples", .int(e.examples))]))
            } else {
                print(String(format: "test accuracy %.2f%%  test loss %.4f  (%d examples)", 100 * e.accuracy, e.loss, e.examples))
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }

    /// A snapshot evaluated on another dataset of the same image shape and class count.
    static func retarget(archive: SessionArchive, session: String, dataset: String, datasetsDir: String) throws -> Trainer {
        guard let kind = DatasetKind(rawValue: dataset.lowercased()) else {
            throw EngineError("unknown dataset '\(dataset)': use \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let contents = try archive.store.load(path: session)
        let manifest = try archive.readManifest(contents, path: session)
        let data = try DatasetLoader.load(kind, datasetsDirectory: datasetsDir)
        var setup = manifest.setup
        setup.dataset = kind
        let trainer = try RunFactory.trainer(setup: setup, data: data, hyper: manifest.hyper)
        try SessionArchive.load(weights: contents.weights, into: trainer.network, path: session)
        for c in trainer.network.sphereCapable { if let v = manifest.layerVariants[c.name] { c.variant = v } }
        return trainer
    }
}

struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List and inspect snapshots.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Snapshots in the sessions folder, newest first.")
        @Option(name: .customLong("sessions-dir"), help: "The sessions folder.") var sessionsDir = "Sessions"
        func run() throws {
            do {
                let rows = try SnapshotStore(root: sessionsDir).list()
                guard !rows.isEmpty else { print("no snapshots in \(sessionsDir)/"); return }
                print("name".padding(toLength: 40, withPad: " ", startingAt: 0) + "saved             step  dataset        model               variant      best")
                for r in rows {
                    let saved = (r.savedAt ?? "").prefix(16).replacingOccurrences(of: "T", with: " ")
                    let best = r.bestTestAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "–"
                    print(r.name.padding(toLength: 40, withPad: " ", startingAt: 0) + saved.padding(toLength: 17, withPad: " ", startingAt: 0)
                          + String(r.step ?? 0).padding(toLength: 6, withPad: " ", startingAt: 0)
                          + (r.dataset ?? "?").padding(toLength: 15, withPad: " ", startingAt: 0)
                          + (r.model ?? "?").padding(toLength: 20, withPad: " ", startingAt: 0)
                          + (r.variant ?? "?").padding(toLength: 13, withPad: " ", startingAt: 0) + best)
                }
            } catch { throw failure("\(error)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything a snapshot holds.")
        @Argument(help: "The snapshot folder.") var path: String
        func run() throws {
            do {
                let archive = SessionArchive()
                let contents = try archive.store.load(path: path)
                let m = try archive.readManifest(contents, path: path)
                print("snapshot    \(path)")
                print("run         \(m.runName), saved \(m.summary.savedAt)")
                print("model       \(m.setup.model.displayName) (\(m.setup.model.modelName)), \(m.setup.model.inputChannels)×\(m.setup.model.inputHeight)×\(m.setup.model.inputWidth), \(m.setup.model.classes) classes, BN \(m.setup.model.batchNormStatistics.rawValue)")
                print("dataset     \(m.setup.dataset.rawValue) (fingerprint \(m.datasetFingerprint)), seed \(m.setup.seed)")
                print("progress    step \(m.step), epoch \(m.epoch + 1), data position \(m.dataPosition.index) in epoch \(m.dataPosition.epoch)")
                let h = m.hyper
                print("training    \(h.variant) · \(h.optimizer) · lr \(h.schedule.base) (drops at \(h.schedule.milestones)) · \(LossChoice(head: h.head, crossEntropy: h.crossEntropy).name) · batch \(h.batchSize) · weight decay \(h.weightDecay) · orthogonality \(h.orthogonality)")
                if let best = m.metrics.bestTestAccuracy { print(String(format: "best test   %.2f%%", 100 * best)) }
                if let last = m.metrics.testAccuracy.last { print(String(format: "last test   %.2f%% at step %d", 100 * last.value, last.step)) }
                print("weights     \(contents.weights.count) tensors, \(contents.weights.reduce(0) { $0 + $1.values.count }) values")
                for t in contents.weights.prefix(60) { print("  \(t.name) \(t.shape)") }
                if contents.weights.count > 60 { print("  … \(contents.weights.count - 60) more") }
                print("optimizer   \(contents.optimizer.count) tensors")
                print("events      \(m.events.count); last: \(m.events.last.map { "[\($0.step)] \($0.text)" } ?? "–")")
            } catch { throw failure("\(error)") }
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
    @Flag(name: .customLong("with-ui"), help: "Measure what drawing the workbench (off-screen, 15 fps) costs training.") var withUI = false
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
        if withUI {
            var ui = UIOverheadBenchmark()
            ui.steps = steps
            ui.benchmark = bench
            for c in configs {
                for v in variants {
                    let r = try ui.run(c, variant: v)
                    if json {
                        print(JSONLine.object([("config", .string(c.name)), ("variant", .string(v.name)), ("mode", .string("train-with-ui")),
                                               ("images_per_sec", .double(r.withUIImagesPerSecond)), ("images_per_sec_without_ui", .double(r.plainImagesPerSecond)),
                                               ("ui_overhead_percent", .double(r.overheadPercent)), ("frames", .int(r.framesDrawn)),
                                               ("frame_ms", .double(r.meanFrameMilliseconds))]))
                    } else {
                        print(String(format: "%@ %@: %.1f img/s without UI, %.1f with the UI drawing (%d frames, %.2f ms each): overhead %.1f%%",
                                     c.name as NSString, v.name as NSString, r.plainImagesPerSecond, r.withUIImagesPerSecond, r.framesDrawn,
                                     r.meanFrameMilliseconds, r.overheadPercent))
                    }
                }
            }
            return
        }
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
    @Option(name: .customLong("autosave-minutes"), help: "Autosave unsaved progress every N minutes (0: off).") var autosaveMinutes = 10.0
    @Option(name: .customLong("autosave-keep"), help: "Autosaves of a run to keep.") var autosaveKeep = 3

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        guard autosaveMinutes >= 0, autosaveMinutes <= 24 * 60 else { throw ValidationError("--autosave-minutes must be in 0…1440") }
        guard autosaveKeep >= 1 else { throw ValidationError("--autosave-keep must be at least 1") }
    }

    func run() throws {
        guard Terminal.isInteractive else {
            throw failure("the workbench needs a terminal (stdin and stdout a TTY); for scripts use `spherelab train`")
        }
        let request = try options.request(steps: steps)
        options.applyThreads()
        let archive = SessionArchive(root: sessionsDir, datasetsDirectory: options.datasetsDir)
        let run: OpenedRun
        do {
            if let resume {
                FileHandle.standardError.write(Data("opening \(resume)…\n".utf8))
                run = try archive.restore(path: resume).0
            } else {
                FileHandle.standardError.write(Data("loading \(request.dataset.rawValue)…\n".utf8))
                run = try request.open(totalSteps: steps)
            }
        } catch {
            throw failure("\(error)")
        }
        let sessions = archive.isUsable ? archive : nil
        _ = try? sessions?.store.removeStaleTemporaries(olderThan: 3600)   // leftovers of crashed saves
        let runner = WorkbenchRunner(run: run, sessions: sessions, glyphs: ascii ? .ascii : .unicode)
        runner.autosaveInterval = autosaveMinutes > 0 ? autosaveMinutes * 60 : nil
        runner.autosaveKeep = autosaveKeep
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
        subcommands: [Workbench.self, Train.self, Eval.self, Bench.self, Sessions.self],
        defaultSubcommand: Workbench.self)
}

SphereLabCommand.main()
