import Foundation
import Engine
import DataLoaders
import SessionStore

/// Converts between a running trainer and a snapshot on disk: parameter and buffer tensors
/// under their PyTorch names, optimizer state under `<name>.exp_avg` / `.exp_avg_sq` /
/// `.step` (Adam) or `.momentum_buffer` (SGD), and the session manifest.
public struct SessionArchive: Sendable {
    public let store: SnapshotStore
    public let datasetsDirectory: String

    public init(root: String = "Sessions", datasetsDirectory: String = "Datasets") {
        store = SnapshotStore(root: root)
        self.datasetsDirectory = datasetsDirectory
    }

    /// A copy of everything, taken on the trainer's queue between steps.
    public struct Capture: Sendable {
        public var contents: SnapshotContents
        public var manifest: SessionManifest
    }

    // MARK: capture and write

    public func capture(_ trainer: Trainer, telemetry: Telemetry, name: String = "") -> Capture {
        let weights = SessionArchive.weightTensors(trainer.network)
        let optimizer = SessionArchive.optimizerTensors(trainer.optimizer)
        let setup = trainer.setup
        var variants: [String: ConvVariant] = [:]
        for c in trainer.network.sphereCapable { variants[c.name] = c.variant }
        let formatter = ISO8601DateFormatter()
        let manifest = SessionManifest(
            summary: .init(name: name, runName: telemetry.runName, savedAt: formatter.string(from: Date()), step: trainer.step,
                           dataset: setup.dataset.rawValue, model: setup.model.displayName, variant: trainer.hyper.variant.description,
                           bestTestAccuracy: telemetry.bestTestAccuracy),
            runName: telemetry.runName, setup: setup, hyper: trainer.hyper, layerVariants: variants,
            step: trainer.step, epoch: trainer.epoch, dataPosition: trainer.dataPosition,
            datasetFingerprint: trainer.data.train.fingerprint, totalSteps: telemetry.totalSteps,
            metrics: .init(trainLoss: telemetry.trainLoss, trainAccuracy: telemetry.trainAccuracy, testLoss: telemetry.testLoss,
                           testAccuracy: telemetry.testAccuracy, testAccuracyTrainModeBN: telemetry.testAccuracyTrainModeBN,
                           bestTestAccuracy: telemetry.bestTestAccuracy),
            events: telemetry.events, angleHistory: telemetry.angleHistory)
        let contents = SnapshotContents(weights: weights, optimizer: optimizer, sessionJSON: [],
                                        metadata: ["format": "pt", "producer": "spherelab"])
        return Capture(contents: contents, manifest: manifest)
    }

    /// Writes the capture atomically as `Sessions/<name>/`; returns the folder's path.
    public func write(_ capture: Capture, name: String) throws -> String {
        guard SnapshotStore.isValidName(name) else {
            throw EngineError("'\(name)' is not a valid snapshot name: use letters, digits, '.', '_' and '-' (not starting with '.')")
        }
        var manifest = capture.manifest
        manifest.summary.name = name
        var contents = capture.contents
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        contents.sessionJSON = Array(try encoder.encode(manifest))
        return try store.save(contents, name: name)
    }

    static func weightTensors(_ network: Network) -> [NamedTensor] {
        var out = network.savedParameters.map { NamedTensor(name: $0.name, shape: $0.shape, floats: $0.value.array) }
        for b in network.stateBuffers {
            if b.isInteger {
                out.append(NamedTensor(name: b.name, shape: b.shape, integers: b.value.array.map { Int64($0) }))
            } else {
                out.append(NamedTensor(name: b.name, shape: b.shape, floats: b.value.array))
            }
        }
        return out
    }

    static func optimizerTensors(_ optimizer: Optimizer) -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (name, slot) in optimizer.slots.sorted(by: { $0.key < $1.key }) {
            let n = slot.first.count
            if case .adam = optimizer.kind {
                out.append(NamedTensor(name: "\(name).exp_avg", shape: [n], floats: slot.first.array))
                out.append(NamedTensor(name: "\(name).exp_avg_sq", shape: [n], floats: slot.second.array))
            } else {
                out.append(NamedTensor(name: "\(name).momentum_buffer", shape: [n], floats: slot.first.array))
            }
            out.append(NamedTensor(name: "\(name).step", shape: [], integers: [Int64(slot.step)]))
        }
        return out
    }

    // MARK: read and restore

    public func entries() throws -> [SnapshotEntry] {
        try store.list().map { s in
            var detail = [s.savedAt.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") },
                          s.step.map { "step \($0)" }, s.dataset, s.variant].compactMap { $0 }.joined(separator: " · ")
            if let best = s.bestTestAccuracy { detail += String(format: " · best %.2f%%", 100 * best) }
            return SnapshotEntry(name: s.name, path: s.path, detail: detail)
        }
    }

    public func readManifest(_ contents: SnapshotContents, path: String) throws -> SessionManifest {
        do {
            return try JSONDecoder().decode(SessionManifest.self, from: Data(contents.sessionJSON))
        } catch {
            throw EngineError("\(path)/session.json does not match SphereLab's session schema (\(error)); the snapshot is damaged or from another tool")
        }
    }

    /// Loads a snapshot and rebuilds its trainer exactly (weights, buffers, optimizer, step,
    /// data order). `override` may change hyperparameters (the command line's options).
    public func restoreTrainer(path: String, override: ((inout Hyperparameters) throws -> Void)? = nil) throws -> (Trainer, SessionManifest) {
        let contents = try store.load(path: path)
        let manifest = try readManifest(contents, path: path)
        let data = try DatasetLoader.load(manifest.setup.dataset, datasetsDirectory: datasetsDirectory)
        guard data.train.fingerprint == manifest.datasetFingerprint else {
            throw EngineError("\(path): the snapshot was trained on a different copy of \(manifest.setup.dataset.rawValue) (fingerprint \(manifest.datasetFingerprint), found \(data.train.fingerprint)); resuming would not be exact")
        }
        var hyper = manifest.hyper
        try override?(&hyper)
        let trainer = try Trainer(setup: manifest.setup, data: data, hyper: hyper)
        try SessionArchive.load(weights: contents.weights, into: trainer.network, path: path)
        for c in trainer.network.sphereCapable {
            if let v = manifest.layerVariants[c.name] { c.variant = v }
        }
        if hyper.variant != manifest.hyper.variant { trainer.setVariant(hyper.variant) }
        if hyper.optimizer.name == manifest.hyper.optimizer.name {
            try SessionArchive.load(optimizer: contents.optimizer, into: trainer.optimizer, network: trainer.network, path: path)
        }
        try trainer.restore(step: manifest.step, position: manifest.dataPosition)
        return (trainer, manifest)
    }

    /// Rebuilds a controller (for the workbench) with the snapshot's history.
    public func restore(path: String) throws -> TrainingController {
        let (trainer, manifest) = try restoreTrainer(path: path)
        return TrainingController(trainer: trainer, runName: manifest.runName, totalSteps: manifest.totalSteps,
                                  startPaused: true, resumedFrom: (path as NSString).lastPathComponent,
                                  history: SessionArchive.history(manifest, path: path))
    }

    /// The charts' history as saved in a snapshot.
    public static func history(_ manifest: SessionManifest, path: String) -> Telemetry {
        var t = Telemetry()
        t.runName = manifest.runName
        t.trainLoss = manifest.metrics.trainLoss
        t.trainAccuracy = manifest.metrics.trainAccuracy
        t.testLoss = manifest.metrics.testLoss
        t.testAccuracy = manifest.metrics.testAccuracy
        t.testAccuracyTrainModeBN = manifest.metrics.testAccuracyTrainModeBN
        t.bestTestAccuracy = manifest.metrics.bestTestAccuracy
        t.events = manifest.events + [RunEvent(step: manifest.step, text: "opened \(path)")]
        t.angleHistory = manifest.angleHistory
        t.resumedFrom = (path as NSString).lastPathComponent
        return t
    }

    /// Splits `--save` into the store's root folder and the snapshot's name: a bare name goes
    /// into `defaultRoot`, a path names its own folder.
    public static func target(for argument: String, defaultRoot: String = "Sessions", datasetsDirectory: String = "Datasets") throws -> (SessionArchive, String) {
        let url = URL(fileURLWithPath: argument)
        let name = url.lastPathComponent
        let root = argument.contains("/") ? url.deletingLastPathComponent().path : defaultRoot
        guard SnapshotStore.isValidName(name) else {
            throw EngineError("'\(name)' is not a valid snapshot name: use letters, digits, '.', '_' and '-' (not starting with '.')")
        }
        return (SessionArchive(root: root, datasetsDirectory: datasetsDirectory), name)
    }

    /// Copies tensors into the network: every saved parameter and buffer must be present with
    /// its shape, and nothing unknown may be left over.
    public static func load(weights: [NamedTensor], into network: Network, path: String) throws {
        var byName: [String: NamedTensor] = [:]
        for t in weights { byName[t.name] = t }
        // Learnable k first: it creates the parameter where the snapshot has one.
        for c in network.convolutions {
            if let k = byName["\(c.name).k"] { try c.restoreLearnableK(try floats(k, path: path)) }
        }
        var used = Set<String>()
        for p in network.savedParameters {
            guard let t = byName[p.name] else { throw EngineError("\(path): weights lack \(p.name) \(p.shape); the snapshot does not belong to this model") }
            guard t.shape == p.shape else { throw EngineError("\(path): \(p.name) has shape \(t.shape), the model needs \(p.shape)") }
            p.value.copy(from: try floats(t, path: path))
            used.insert(p.name)
        }
        for b in network.stateBuffers {
            guard let t = byName[b.name] else { throw EngineError("\(path): weights lack buffer \(b.name)") }
            guard t.shape == b.shape else { throw EngineError("\(path): \(b.name) has shape \(t.shape), the model needs \(b.shape)") }
            b.value.copy(from: try floats(t, path: path))
            used.insert(b.name)
        }
        let unknown = Set(byName.keys).subtracting(used).sorted()
        guard unknown.isEmpty else {
            throw EngineError("\(path): weights hold tensors this model does not have: \(unknown.prefix(5).joined(separator: ", "))")
        }
    }

    static func floats(_ t: NamedTensor, path: String) throws -> [Float] {
        switch t.values {
        case .float32(let v): return v
        case .int64(let v): return v.map { Float($0) }
        }
    }

    static func load(optimizer tensors: [NamedTensor], into optimizer: Optimizer, network: Network, path: String) throws {
        var byName: [String: NamedTensor] = [:]
        for t in tensors { byName[t.name] = t }
        for p in network.savedParameters {
            guard let stepTensor = byName["\(p.name).step"] else { continue }   // never stepped
            let step = Int(try floats(stepTensor, path: path).first ?? 0)
            if case .adam = optimizer.kind {
                guard let m = byName["\(p.name).exp_avg"], let v = byName["\(p.name).exp_avg_sq"],
                      m.shape == [p.count], v.shape == [p.count] else {
                    throw EngineError("\(path): optimizer state for \(p.name) is missing or has the wrong size")
                }
                optimizer.restoreSlot(name: p.name, first: try floats(m, path: path), second: try floats(v, path: path), step: step)
            } else {
                guard let m = byName["\(p.name).momentum_buffer"], m.shape == [p.count] else {
                    throw EngineError("\(path): optimizer state for \(p.name) is missing or has the wrong size")
                }
                optimizer.restoreSlot(name: p.name, first: try floats(m, path: path), second: [], step: step)
            }
        }
    }
}

extension SessionArchive {
    /// Whether snapshots can be written: the sessions folder exists or can be created.
    public var isUsable: Bool {
        let root = store.root
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
            return isDirectory.boolValue && FileManager.default.isWritableFile(atPath: root)
        }
        return (try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)) != nil
    }
}
