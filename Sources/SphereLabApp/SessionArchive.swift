import Foundation
import Engine
import SessionStore

/// The app's view of a sessions folder: where snapshots live and where their datasets are
/// found. Capturing (`SnapshotCapture.swift`), restoring (`SnapshotRestore.swift`) and
/// naming targets (`SnapshotTarget.swift`) are its extensions, one job per file.
public struct SessionArchive: Sendable {
    public let store: SnapshotStore
    public let datasetsDirectory: String

    public init(root: String = "Sessions", datasetsDirectory: String = "Datasets") {
        store = SnapshotStore(root: root)
        self.datasetsDirectory = datasetsDirectory
    }

    /// The folder under the sessions root where `spherelab experiment` keeps its experiments
    /// (`experiments/NAME/`): a folder of folders, not a snapshot, so it is not listed.
    public static let experimentsFolder = "experiments"

    /// Every snapshot and saved race in the sessions folder, newest first, checked; the
    /// experiments folder is left out (unless a snapshot was saved under that name).
    public func listings() throws -> [SnapshotListing] {
        try store.listChecked(modelCheck: SessionArchive.modelCheck).filter { listing in
            listing.name != SessionArchive.experimentsFolder
                || FileManager.default.fileExists(atPath: listing.summary.path + "/session.json")
        }
    }

    /// What a saved race holds, in a few words (`race of 3: conv, cosine, sigmoid · step 120`);
    /// nil when `path` is no race. A race whose race.json cannot be read says so.
    public func raceDetail(path: String) -> (detail: String, damaged: Bool)? {
        guard SessionArchive.isRace(path: path) else { return nil }
        guard let race = try? readRaceManifest(path: path) else { return ("damaged: \(RaceManifest.fileName) cannot be read", true) }
        let step = race.runs.map(\.step).max().map { " · step \($0)" } ?? ""
        return ("race of \(race.runs.count): " + race.runs.map(\.name).joined(separator: ", ") + step, false)
    }

    /// The snapshots for the open dialog, newest first.
    public func entries() throws -> [SnapshotEntry] {
        try listings().map { listing in
            let s = listing.summary
            // A saved race lists as one entry (its runs open together; each also alone by path).
            if let race = raceDetail(path: s.path) {
                return SnapshotEntry(name: s.name, path: s.path, detail: race.detail, damaged: race.damaged)
            }
            var detail = [s.savedAt.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") },
                          s.step.map { "step \($0)" }, s.dataset, s.variant].compactMap { $0 }.joined(separator: " · ")
            if let best = s.bestTestAccuracy { detail += String(format: " · best %.2f%%", 100 * best) }
            if case .damaged(let reason) = listing.health { detail = "damaged: " + reason }
            return SnapshotEntry(name: s.name, path: s.path, detail: detail, damaged: !listing.health.isOK)
        }
    }

    /// The app's part of a snapshot's session.json.
    public func readManifest(_ contents: SnapshotContents, path: String) throws -> SessionManifest {
        try SessionArchive.readManifest(contents.sessionJSON, path: path)
    }

    /// Decodes session.json's app part and checks every number in it (`SessionManifest.validate`).
    public static func readManifest(_ bytes: [UInt8], path: String) throws -> SessionManifest {
        let manifest: SessionManifest
        do {
            manifest = try SessionManifest.decoder.decode(SessionManifest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw EngineError("\(path)/session.json does not match SphereLab's session schema (\(SessionArchive.describe(error))); the snapshot is damaged or from another tool")
        } catch {
            throw EngineError("\(path)/session.json does not match SphereLab's session schema (\(error)); the snapshot is damaged or from another tool")
        }
        try manifest.validate(path: path)
        return manifest
    }

    /// A decoding error in a few words: what was wrong, at which key path.
    static func describe(_ error: DecodingError) -> String {
        func where_(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let c): return "missing \(where_(c.codingPath + [key]))"
        case .typeMismatch(_, let c): return "wrong type at \(where_(c.codingPath)): \(c.debugDescription.prefix(120))"
        case .valueNotFound(_, let c): return "missing value at \(where_(c.codingPath))"
        case .dataCorrupted(let c): return "bad value at \(where_(c.codingPath)): \(c.debugDescription.prefix(120))"
        @unknown default: return "\(error)".prefix(200).description
        }
    }

    /// The app's model check for listings and pre-flights: the manifest decodes and its numbers
    /// are in range, the model's memory estimate fits this machine (judged before anything is
    /// built), and the weights' names and shapes are exactly the model's. Allocates nothing the
    /// snapshot describes.
    public static let modelCheck: SnapshotModelCheck = { input in
        do {
            let manifest = try readManifest(input.sessionJSON, path: input.path)
            let plan = try ModelPlan(spec: manifest.setup.model)
            try MachineMemory.check(plan, batchSize: manifest.hyper.batchSize)
            if let problem = plan.mismatch(weights: input.weightShapes) { return "\(input.path): \(problem); the snapshot does not belong to the model it names" }
            for (layer, _) in manifest.layerVariants where plan.tensors.required["\(layer).weight"] == nil {
                return "\(input.path)/session.json: layerVariants names \(layer), which the model does not have"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The same checks `load` and the listing make, before any data is read or model built;
    /// throws the reason for a damaged snapshot.
    public func preflight(path: String) throws {
        if case .damaged(let reason) = store.check(path: path, modelCheck: SessionArchive.modelCheck).health {
            throw EngineError(reason)
        }
    }

    /// Whether snapshots can be written: the sessions folder exists or can be created.
    public var isUsable: Bool {
        let root = store.root
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
            return isDirectory.boolValue && FileManager.default.isWritableFile(atPath: root)
        }
        return (try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)) != nil
    }

    /// Refuses an evaluation that cannot be trusted: non-finite weights or buffers, or a
    /// non-finite test loss (infinite scores), with what to do.
    public static func checkEvaluation(_ network: Network, _ e: EvaluationResult, source: String) throws {
        if let bad = network.firstNonFiniteTensor() {
            throw EngineError("\(source): \(bad) holds NaN or infinite values, so the evaluation means nothing (accuracy \(String(format: "%.2f%%", 100 * e.accuracy))); the run diverged before it was saved — use an earlier snapshot")
        }
        guard e.loss.isFinite, e.accuracy.isFinite else {
            throw EngineError("\(source): the network's outputs are not finite (test loss \(e.loss)); the weights are unusable — use an earlier snapshot")
        }
    }
}
