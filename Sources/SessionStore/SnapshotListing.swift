import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One complete snapshot as shown in a listing. The fields after `path` come from the
/// top-level "summary" object of session.json and are nil when missing or of the wrong type.
public struct SnapshotSummary: Sendable, Equatable {
    /// The folder name (what `load(name:)` takes).
    public var name: String
    public var path: String
    /// summary.name: the run's own name, which may differ from the folder name.
    public var runName: String?
    /// summary.savedAt, an ISO-8601 string as written by the app.
    public var savedAt: String?
    public var step: Int?
    public var dataset: String?
    public var model: String?
    public var variant: String?
    public var bestTestAccuracy: Double?
    /// Modification time of session.json; orders snapshots whose savedAt is missing or unreadable.
    public var modified: Date

    public init(name: String, path: String, runName: String? = nil, savedAt: String? = nil, step: Int? = nil,
                dataset: String? = nil, model: String? = nil, variant: String? = nil, bestTestAccuracy: Double? = nil,
                modified: Date) {
        self.name = name
        self.path = path
        self.runName = runName
        self.savedAt = savedAt
        self.step = step
        self.dataset = dataset
        self.model = model
        self.variant = variant
        self.bestTestAccuracy = bestTestAccuracy
        self.modified = modified
    }

    /// When the snapshot was saved: savedAt when it parses as ISO-8601, else the file time.
    public var savedDate: Date { savedAt.flatMap(SessionDocument.parseDate) ?? modified }
}

extension SnapshotStore {
    /// Complete snapshots under the root, newest first (ties by name). Hidden folders (temporary,
    /// moved aside, being deleted) and folders that fail the completeness check are left out;
    /// `load(path:)` on such a folder says what is wrong with it. A missing root lists nothing.
    public func list() throws -> [SnapshotSummary] {
        guard PosixFiles.isDirectory(root) else { return [] }
        var summaries: [SnapshotSummary] = []
        for name in try PosixFiles.entries(of: root) where Self.isValidName(name) {
            if let summary = summarize(folder: path(forName: name), name: name) {
                summaries.append(summary)
            }
        }
        return summaries.sorted { a, b in
            let (dateA, dateB) = (a.savedDate, b.savedDate)
            return dateA != dateB ? dateA > dateB : precedesInNameOrder(a.name, b.name)
        }
    }

    /// A cheap completeness check: all three files present, both safetensors headers valid and
    /// consistent with their file sizes, session.json valid. Tensor data is not read.
    private func summarize(folder path: String, name: String) -> SnapshotSummary? {
        guard let folder = try? OpenFolder(path: path) else { return nil }
        defer { folder.close() }
        guard let files = try? SnapshotFiles(folder) else { return nil }
        defer { files.close() }
        guard (try? SafeTensors.readIndex(files.weights)) != nil,
              (try? SafeTensors.readIndex(files.optimizer)) != nil,
              let json = try? Self.readSessionJSON(files.session).json
        else { return nil }
        var info = stat()
        let modified = fstat(files.session.descriptor, &info) == 0 ? PosixFiles.modificationSeconds(info) : 0
        return SessionDocument.summary(of: json, name: name, path: path, modified: Date(timeIntervalSince1970: modified))
    }

    /// Keeps the newest `keep` complete snapshots whose name starts with `prefix` and deletes the
    /// rest of them (autosave rotation). Each deletion first renames the folder to a hidden
    /// `.trash-` name, so an interrupted rotation never leaves a half-deleted snapshot listed.
    public func rotate(prefix: String, keep: Int) throws {
        guard keep >= 0 else {
            throw SessionStoreError(.invalidArgument, "cannot keep \(keep) snapshots", path: root,
                                    hint: "Pass a count of zero or more.")
        }
        guard !prefix.isEmpty else {
            throw SessionStoreError(.invalidArgument, "an empty prefix would rotate every snapshot", path: root,
                                    hint: "Pass the autosave prefix, e.g. \"autosave-\".")
        }
        let matching = try list().filter { $0.name.hasPrefix(prefix) }
        for summary in matching.dropFirst(keep) {
            try discard(name: summary.name)
        }
    }

    private func discard(name: String) throws {
        let trash = hiddenFolderPath(kind: .trash, name: name)
        guard PosixFiles.rename(path(forName: name), to: trash) == 0 else {
            throw SessionStoreError.posix("moving an old snapshot to the trash", path: path(forName: name), errno: errno)
        }
        try? PosixFiles.syncDirectory(root)
        try PosixFiles.removeTree(trash)
    }

    /// Cleans up after crashed saves: deletes hidden `.tmp-` and `.trash-` folders whose
    /// modification time is at least `olderThan` seconds ago, and for `.old-` folders (a previous
    /// snapshot moved aside by the rename fallback) puts the folder back when its snapshot name
    /// is missing, else deletes it. Pick `olderThan` well above the time a save takes (e.g. an
    /// hour) when another process may be saving into the same root. Returns how many folders were
    /// removed or restored.
    @discardableResult
    public func removeStaleTemporaries(olderThan: TimeInterval) throws -> Int {
        guard PosixFiles.isDirectory(root) else { return 0 }
        let now = Date().timeIntervalSince1970
        var cleaned = 0
        for entry in try PosixFiles.entries(of: root) {
            guard let kind = HiddenKind.allCases.first(where: { entry.hasPrefix($0.rawValue) }) else { continue }
            let folder = root + "/" + entry
            guard let status = PosixFiles.status(folder), status.isDirectory, now - status.modified >= olderThan else { continue }
            if kind == .aside, let name = Self.snapshotName(ofHiddenFolder: entry, kind: kind),
               !PosixFiles.exists(path(forName: name)) {
                guard PosixFiles.rename(folder, to: path(forName: name)) == 0 else {
                    throw SessionStoreError.posix("restoring a snapshot moved aside", path: folder, errno: errno)
                }
            } else {
                try PosixFiles.removeTree(folder)
            }
            cleaned += 1
        }
        if cleaned > 0 { try? PosixFiles.syncDirectory(root) }
        return cleaned
    }
}
