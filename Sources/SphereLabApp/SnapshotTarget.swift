import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Engine
import SessionStore

extension SessionArchive {
    /// Splits `--save` into the store's root folder and the snapshot's name: a bare name goes
    /// into `defaultRoot`, a path names its own folder.
    public static func target(for argument: String, defaultRoot: String = "Sessions", datasetsDirectory: String = "Datasets") throws -> (SessionArchive, String) {
        // The name is the text after the last '/', as typed: "..", "." and "" are refused by
        // the store's rule rather than resolved to a folder's name.
        let slash = argument.lastIndex(of: "/")
        let name = slash.map { String(argument[argument.index(after: $0)...]) } ?? argument
        try checkName(name)
        let root = slash.map { $0 == argument.startIndex ? "/" : String(argument[..<$0]) } ?? defaultRoot
        return (SessionArchive(root: root, datasetsDirectory: datasetsDirectory), name)
    }

    /// The store's one naming rule, with the words every front end uses to refuse a name.
    public static func checkName(_ name: String) throws {
        if let problem = SnapshotStore.nameProblem(name) { throw EngineError(problem) }
    }

    /// Whether a snapshot could be written into the root now: the root is a folder (or can be
    /// made one) that this process can write into. Checked before the first step, so a run is
    /// never thrown away at the end for want of a place to keep it.
    public func checkWritable() throws {
        let root = store.root
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw EngineError("cannot save into \(root): it is a file, not a folder; give --save a path in a folder")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw EngineError("cannot save into \(root): the folder cannot be created (\(error.localizedDescription)); give --save a path in a writable folder")
            }
        }
        // Probe with a real write: access(2) says yes to root on a read-only mount.
        let probe = root + "/.tmp-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(probe, 0o700) == 0 else {
            let reason = String(cString: strerror(errno))
            throw EngineError("cannot save into \(root): \(reason); give --save a path in a writable folder")
        }
        rmdir(probe)
    }

    /// Where a run goes when its own target refuses the final save: a folder under the
    /// temporary directory ($TMPDIR/spherelab-emergency), so the steps are not lost.
    public static var emergencyRoot: String {
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return (tmp.hasSuffix("/") ? String(tmp.dropLast()) : tmp) + "/spherelab-emergency"
    }

    /// Removes what crashed or killed saves left in the root; returns lines for stderr (empty
    /// when there was nothing to do). Every front end calls it when it starts.
    @discardableResult
    public func cleanUpStaleFolders() -> [String] {
        guard let report = try? store.cleanUpStaleFolders() else { return [] }
        var lines = report.removed.map { "removed stale \(store.root)/\($0) (left by an interrupted save)" }
        lines += report.restored.map { "restored \(store.root)/\($0.snapshot) from \($0.folder) (an interrupted save had moved it aside)" }
        lines += report.failures.map { "could not clean up: \($0)" }
        return lines
    }
}
