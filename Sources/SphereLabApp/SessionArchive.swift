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

    /// The snapshots for the open dialog, newest first.
    public func entries() throws -> [SnapshotEntry] {
        try store.list().map { s in
            var detail = [s.savedAt.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") },
                          s.step.map { "step \($0)" }, s.dataset, s.variant].compactMap { $0 }.joined(separator: " · ")
            if let best = s.bestTestAccuracy { detail += String(format: " · best %.2f%%", 100 * best) }
            return SnapshotEntry(name: s.name, path: s.path, detail: detail)
        }
    }

    /// The app's part of a snapshot's session.json.
    public func readManifest(_ contents: SnapshotContents, path: String) throws -> SessionManifest {
        do {
            return try SessionManifest.decoder.decode(SessionManifest.self, from: Data(contents.sessionJSON))
        } catch {
            throw EngineError("\(path)/session.json does not match SphereLab's session schema (\(error)); the snapshot is damaged or from another tool")
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
}
