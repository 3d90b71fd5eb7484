import Foundation
import Engine
import DataLoaders
import SessionStore

extension SessionArchive {
    /// Loads a snapshot and rebuilds its run exactly (weights, buffers, optimizer, step, data
    /// order, history). `override` may change hyperparameters (the command line's options);
    /// the session starts paused.
    ///
    /// `sameData: false` (evaluation, which is not a resume) accepts another copy of the
    /// dataset: the caller compares `run.identity.datasetFingerprint` with the manifest's and warns.
    /// `evaluationLimit` replaces the snapshot's number of test images per evaluation (which
    /// images a run is tested on is not part of what it computes, so a resume may change it).
    public func restore(path: String, sameData: Bool = true, evaluationLimit: Int? = nil,
                        override: ((inout Hyperparameters) throws -> Void)? = nil) throws -> (OpenedRun, SessionManifest) {
        try preflight(path: path)
        let contents = try store.load(path: path)
        let manifest = try readManifest(contents, path: path)
        let data = try DatasetLoader.load(manifest.setup.dataset, datasetsDirectory: datasetsDirectory)
        guard !sameData || data.train.fingerprint == manifest.datasetFingerprint else {
            throw EngineError("\(path): the snapshot was trained on a different copy of \(manifest.setup.dataset.rawValue) (fingerprint \(manifest.datasetFingerprint), found \(data.train.fingerprint)); resuming would not be exact")
        }
        let name = (path as NSString).lastPathComponent
        let run = try SessionArchive.rebuild(contents: contents, manifest: manifest, data: data, path: path, resumedFrom: name,
                                             evaluationLimit: evaluationLimit, override: override)
        run.session.note("opened \(path)", marker: "opened")
        return (run, manifest)
    }

    /// Rebuilds a run from a snapshot's parts and its already loaded data: weights, buffers,
    /// optimizer, step, data order and history (the session starts paused). `path` names the
    /// source in errors; a race's branch passes an in-memory capture here.
    public static func rebuild(contents: SnapshotContents, manifest: SessionManifest, data: DatasetPair, path: String,
                               resumedFrom: String?, evaluationLimit: Int? = nil,
                               override: ((inout Hyperparameters) throws -> Void)? = nil,
                               workspace: Workspace = Workspace()) throws -> OpenedRun {
        var hyper = manifest.hyper
        try override?(&hyper)
        var setup = manifest.setup
        if let limit = evaluationLimit { setup.evaluationLimit = try Settings.evaluationLimit.check(limit) }
        let run = try RunFactory.open(setup: setup, data: data, hyper: hyper, runName: manifest.runName,
                                      history: manifest.history, totalSteps: manifest.totalSteps.flatMap { $0 > manifest.step ? $0 : nil },
                                      startPaused: true, resumedFrom: resumedFrom, workspace: workspace)
        let trainer = run.trainer
        try SessionArchive.load(weights: contents.weights, metadata: contents.metadata, into: trainer.network,
                                 spec: manifest.setup.model, path: path)
        for c in trainer.network.sphereCapable {
            if let v = manifest.layerVariants[c.name] { c.variant = v }
        }
        if hyper.variant != manifest.hyper.variant { trainer.setVariant(hyper.variant) }
        if hyper.optimizer.name == manifest.hyper.optimizer.name {
            try SessionArchive.load(optimizer: contents.optimizer, into: trainer.optimizer, network: trainer.network, path: path)
        }
        try trainer.restore(step: manifest.step, position: manifest.dataPosition)
        return run
    }

    /// Copies tensors into the network (no recipe check): see `load(weights:metadata:into:spec:path:)`.
    public static func load(weights: [NamedTensor], into network: Network, path: String) throws {
        try load(weights: weights, metadata: [:], into: network, spec: nil, path: path)
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
            guard let rawStep = try floats(stepTensor, path: path).first, rawStep.isFinite, rawStep >= 0, rawStep < 1e12 else {
                throw EngineError("\(path): optimizer step count of \(p.name) is not a count")
            }
            let step = Int(rawStep)
            if case .adam = optimizer.kind {
                guard let m = byName["\(p.name).exp_avg"], let v = byName["\(p.name).exp_avg_sq"],
                      m.shape == [p.count], v.shape == [p.count] else {
                    throw EngineError("\(path): optimizer state for \(p.name) is missing or has the wrong size")
                }
                try optimizer.restoreSlot(for: p, first: try floats(m, path: path), second: try floats(v, path: path), step: step)
            } else {
                guard let m = byName["\(p.name).momentum_buffer"], m.shape == [p.count] else {
                    throw EngineError("\(path): optimizer state for \(p.name) is missing or has the wrong size")
                }
                try optimizer.restoreSlot(for: p, first: try floats(m, path: path), second: [], step: step)
            }
        }
    }
}
