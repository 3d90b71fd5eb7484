import Foundation
import Engine
import SessionStore

extension SessionArchive {
    /// A copy of everything a snapshot holds, taken on the trainer's queue between steps.
    public struct Capture: Sendable {
        public var contents: SnapshotContents
        public var manifest: SessionManifest
    }

    /// Copies the session's weights, optimizer state, position and history.
    public func capture(_ session: TrainingSession, identity: RunIdentity, name: String = "") -> Capture {
        let trainer = session.trainer
        var variants: [String: ConvVariant] = [:]
        for c in trainer.network.sphereCapable { variants[c.name] = c.variant }
        let history = session.history
        let manifest = SessionManifest(
            summary: .init(name: name, runName: session.labels.runName, savedAt: ISO8601DateFormatter().string(from: Date()), step: trainer.step,
                           dataset: identity.setup.dataset.rawValue, model: identity.setup.model.displayName,
                           variant: trainer.hyper.variant.description, bestTestAccuracy: history.bestTestAccuracy?.value),
            runName: session.labels.runName, setup: identity.setup, hyper: trainer.hyper, layerVariants: variants,
            step: trainer.step, epoch: trainer.epoch, dataPosition: trainer.dataPosition,
            datasetFingerprint: identity.datasetFingerprint, totalSteps: session.totalSteps,
            metrics: .init(history), events: history.events, angleHistory: history.angleHistory)
        let contents = SnapshotContents(weights: SessionArchive.weightTensors(trainer.network),
                                        optimizer: SessionArchive.optimizerTensors(trainer.optimizer), sessionJSON: [],
                                        metadata: WeightsMetadata.record(for: identity.setup.model))
        return Capture(contents: contents, manifest: manifest)
    }

    /// Writes the capture atomically as `<root>/<name>/`; returns the folder's path.
    public func write(_ capture: Capture, name: String) throws -> String {
        try SessionArchive.checkName(name)
        return try store.save(try encoded(capture, name: name), name: name)
    }

    /// The files of a capture saved as `name` (session.json encoded).
    func encoded(_ capture: Capture, name: String) throws -> SnapshotContents {
        var manifest = capture.manifest
        if manifest.summary == nil { manifest.summary = .init() }
        manifest.summary?.name = name
        var contents = capture.contents
        contents.sessionJSON = Array(try SessionManifest.encoder.encode(manifest))
        return contents
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
}
