import Foundation
import Engine
import SessionStore

extension SessionArchive {
    /// Splits `--save` into the store's root folder and the snapshot's name: a bare name goes
    /// into `defaultRoot`, a path names its own folder.
    public static func target(for argument: String, defaultRoot: String = "Sessions", datasetsDirectory: String = "Datasets") throws -> (SessionArchive, String) {
        let url = URL(fileURLWithPath: argument)
        let name = argument.hasSuffix("/") || argument.isEmpty ? "" : url.lastPathComponent
        let root = argument.contains("/") ? url.deletingLastPathComponent().path : defaultRoot
        try checkName(name)
        return (SessionArchive(root: root, datasetsDirectory: datasetsDirectory), name)
    }

    /// The store's one naming rule, with the words every front end uses to refuse a name.
    public static func checkName(_ name: String) throws {
        guard SnapshotStore.isValidName(name), name != ".", name != ".." else {
            throw EngineError("'\(name)' is not a valid snapshot name: use 1–100 characters from A–Z a–z 0–9 . _ - (not starting with '.')")
        }
    }
}
