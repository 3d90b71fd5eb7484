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

/// Whether a listed folder can be loaded.
public enum SnapshotHealth: Sendable, Equatable {
    /// Every check passed: all three files present, both safetensors headers valid against their
    /// file sizes, session.json a SphereLab session this build reads, and the app's model check
    /// (when given) content.
    case ok
    /// Loading would fail; `reason` says what is wrong, where, and what to do.
    case damaged(reason: String)

    public var isOK: Bool { self == .ok }
}

/// One folder of a checked listing: what its session.json summary says (fields nil when
/// unreadable) and whether it loads.
public struct SnapshotListing: Sendable, Equatable {
    public var summary: SnapshotSummary
    public var health: SnapshotHealth

    public init(summary: SnapshotSummary, health: SnapshotHealth) {
        self.summary = summary
        self.health = health
    }

    public var name: String { summary.name }
    public var path: String { summary.path }
}

/// What the app's model-level check sees of a snapshot: the session.json bytes (already valid
/// for the store: UTF-8 JSON object, no duplicate keys, SphereLab format of a readable version)
/// and the two validated safetensors tables of contents. No tensor data is read.
public struct SnapshotCheckInput: Sendable {
    public var name: String
    public var path: String
    public var sessionJSON: [UInt8]
    public var weights: SafeTensorsIndex
    public var optimizer: SafeTensorsIndex

    /// Tensor name → shape in weights.safetensors.
    public var weightShapes: [String: [Int]] { weights.shapes }
    /// Tensor name → shape in optimizer.safetensors.
    public var optimizerShapes: [String: [Int]] { optimizer.shapes }
}

extension SafeTensorsIndex {
    /// Tensor name → shape.
    public var shapes: [String: [Int]] {
        Dictionary(entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The app's model-level check for listings: returns nil when the snapshot fits a model this
/// build can rebuild, else the reason (a sentence: what is missing or wrong, e.g.
/// "weights lack features.0.weight [32, 1, 3, 3]"). It runs once per folder and must not
/// allocate what the snapshot describes (estimate first).
public typealias SnapshotModelCheck = @Sendable (SnapshotCheckInput) -> String?

extension SnapshotStore {
    /// Complete snapshots under the root, newest first (ties by name). Hidden folders (temporary,
    /// moved aside, being deleted) and folders that fail the completeness check are left out;
    /// `load(path:)` on such a folder says what is wrong with it. A missing root lists nothing.
    /// `listChecked(modelCheck:)` lists damaged folders too, with the reason.
    public func list() throws -> [SnapshotSummary] {
        try listChecked().filter { $0.health == .ok }.map(\.summary)
    }

    /// Every snapshot-named folder under the root, newest first (ties by name), each marked `.ok`
    /// or `.damaged(reason:)`. The check is cheap — the three files are opened, the two
    /// safetensors headers are read and validated against the file sizes (names, dtypes, shapes,
    /// offsets; no tensor data), session.json is read and validated — and is exactly what
    /// `load(path:)` checks, so an `.ok` folder loads (barring changes on disk meanwhile) and a
    /// damaged one's reason is the error `load` would throw. `modelCheck`, when given, then
    /// judges each otherwise-ok folder against what the app can rebuild.
    ///
    /// One bad folder never makes this throw; it is marked. It throws only when the root exists
    /// but cannot be read. A missing root lists nothing. Hidden folders and regular files are
    /// skipped; a folder whose summary cannot be read is listed with nil summary fields.
    public func listChecked(modelCheck: SnapshotModelCheck? = nil) throws -> [SnapshotListing] {
        guard PosixFiles.isDirectory(root) else { return [] }
        var listings: [SnapshotListing] = []
        for name in try PosixFiles.entries(of: root) where Self.isValidName(name) {
            let folder = path(forName: name)
            // Regular files (Sessions/README.md) and symbolic links are not snapshots.
            guard PosixFiles.status(folder)?.isDirectory == true else { continue }
            listings.append(check(folder: folder, name: name, modelCheck: modelCheck))
        }
        return listings.sorted { a, b in
            let (dateA, dateB) = (a.summary.savedDate, b.summary.savedDate)
            return dateA != dateB ? dateA > dateB : precedesInNameOrder(a.name, b.name)
        }
    }

    /// The same check as `listChecked` for one folder (any path); never throws.
    public func check(path: String, modelCheck: SnapshotModelCheck? = nil) -> SnapshotListing {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return check(folder: path, name: name, modelCheck: modelCheck)
    }

    private func check(folder path: String, name: String, modelCheck: SnapshotModelCheck?) -> SnapshotListing {
        let folderTime = PosixFiles.status(path)?.modified ?? 0
        func damaged(_ reason: String, json: JSONValue? = nil, modified: Double = folderTime) -> SnapshotListing {
            let date = Date(timeIntervalSince1970: modified)
            let summary = json.map { SessionDocument.summary(of: $0, name: name, path: path, modified: date) }
                ?? SnapshotSummary(name: name, path: path, modified: date)
            return SnapshotListing(summary: summary, health: .damaged(reason: reason))
        }
        // The same refusal as load(path:); listChecked only ever passes valid names.
        if let error = Self.hiddenFolderError(path: path) {
            return damaged(error.description)
        }
        // Like load(path:): a save that swaps in a new folder while this reads can make a file
        // vanish; then the check starts over on the new folder.
        var attemptsLeft = 5
        while true {
            let folder: OpenFolder
            do { folder = try OpenFolder(path: path) } catch { return damaged(Self.reason(error)) }
            defer { folder.close() }
            let listing = check(folder, path: path, name: name, folderTime: folderTime, modelCheck: modelCheck, markDamaged: damaged)
            if listing.health.isOK || attemptsLeft == 0 || !folder.wasReplaced() { return listing }
            attemptsLeft -= 1
        }
    }

    private func check(_ folder: OpenFolder, path: String, name: String, folderTime: Double, modelCheck: SnapshotModelCheck?,
                       markDamaged: (String, JSONValue?, Double) -> SnapshotListing) -> SnapshotListing {
        func damaged(_ reason: String, json: JSONValue? = nil, modified: Double = folderTime) -> SnapshotListing {
            markDamaged(reason, json, modified)
        }
        // The same order as load(path:): open all three files, then session.json, then the headers.
        let files: SnapshotFiles
        do {
            files = try SnapshotFiles(folder)
        } catch {
            // Incomplete, but a readable session.json still names the run for the person.
            var json: JSONValue?
            var modified = folderTime
            if let session = try? folder.openFile(Self.sessionFileName) {
                defer { session.close() }
                var info = stat()
                if fstat(session.descriptor, &info) == 0 { modified = PosixFiles.modificationSeconds(info) }
                json = try? Self.readLooseJSON(session)
            }
            return damaged(Self.reason(error), json: json, modified: modified)
        }
        defer { files.close() }
        var modified = folderTime
        var info = stat()
        if fstat(files.session.descriptor, &info) == 0 { modified = PosixFiles.modificationSeconds(info) }
        let json: JSONValue
        let sessionBytes: [UInt8]
        do {
            let read = try Self.readSessionJSON(files.session)
            sessionBytes = read.bytes
            json = read.json
        } catch {
            return damaged(Self.reason(error), json: try? Self.readLooseJSON(files.session), modified: modified)
        }
        let weights: SafeTensorsIndex, optimizer: SafeTensorsIndex
        do {
            weights = try SafeTensors.readIndex(files.weights)
            optimizer = try SafeTensors.readIndex(files.optimizer)
        } catch {
            return damaged(Self.reason(error), json: json, modified: modified)
        }
        let date = Date(timeIntervalSince1970: modified)
        let summary = SessionDocument.summary(of: json, name: name, path: path, modified: date)
        if let modelCheck,
           let reason = modelCheck(SnapshotCheckInput(name: name, path: path, sessionJSON: sessionBytes,
                                                      weights: weights, optimizer: optimizer)) {
            return SnapshotListing(summary: summary, health: .damaged(reason: reason))
        }
        return SnapshotListing(summary: summary, health: .ok)
    }

    /// session.json parsed without the store's checks (for the summary of a damaged folder).
    private static func readLooseJSON(_ file: ReadableFile) throws -> JSONValue {
        guard file.size <= SessionDocument.maximumLength else { throw SessionStoreError(.sessionJSONInvalid, "too large", hint: "") }
        let bytes = try file.readAll()
        guard bytes.withUnsafeBufferPointer(SafeTensors.firstInvalidUTF8Offset) == nil else {
            throw SessionStoreError(.sessionJSONInvalid, "not UTF-8", hint: "")
        }
        return try StrictJSON.parse(bytes)
    }

    /// An error as a listing reason: the whole description (what, where, what to do).
    static func reason(_ error: any Error) -> String {
        (error as? SessionStoreError)?.description ?? "\(error)"
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

    /// Cleans up after crashed saves, by age only: deletes hidden `.tmp-` and `.trash-` folders
    /// whose modification time is at least `olderThan` seconds ago, and for `.old-` folders (a
    /// previous snapshot moved aside by the rename fallback) puts the folder back when its
    /// snapshot name is missing, else deletes it. Pick `olderThan` well above the time a save
    /// takes (e.g. an hour) when another process may be saving into the same root. Returns how
    /// many folders were removed or restored.
    ///
    /// One folder that cannot be removed does not stop the others: every stale folder is tried,
    /// then the first failure is thrown. `olderThan` must be a finite number ≥ 0.
    /// Front ends should prefer `cleanUpStaleFolders()`, which also clears what a killed save left
    /// moments ago.
    @discardableResult
    public func removeStaleTemporaries(olderThan: TimeInterval) throws -> Int {
        let report = try cleanUpStaleFolders(olderThan: olderThan, includingDeadOwners: false)
        if let failure = report.failures.first { throw failure }
        return report.removed.count + report.restored.count
    }

    /// What `cleanUpStaleFolders` did.
    public struct StaleFolderCleanup: Sendable, Equatable {
        /// Hidden folders deleted (names under the root).
        public var removed: [String] = []
        /// `.old-` folders renamed back to their snapshot name, as (hidden folder, snapshot name).
        public var restored: [Restored] = []
        /// Folders that could not be cleaned; each error names the folder and the cause.
        public var failures: [SessionStoreError] = []

        public struct Restored: Sendable, Equatable {
            public var folder: String
            public var snapshot: String
        }

        public init() {}
    }

    /// The clean-up every front end should run when it starts (workbench, headless `train`,
    /// `eval`, `sessions`): removes what crashed or killed saves left in the root, and never
    /// throws for one folder (failures are collected in the report, to be shown or logged).
    ///
    /// The rule: a hidden folder (`.tmp-<name>-<pid>-<random>`, `.old-…`, `.trash-…`) is stale
    /// when its modification time is at least `olderThan` seconds ago (default one hour), or when
    /// the process `<pid>` that created it no longer runs on this machine — so the folder of a
    /// save killed a moment ago is cleaned at the next start. A folder of a running process
    /// (another SphereLab saving, or this process) is left alone until it is old. Stale `.tmp-`
    /// and `.trash-` folders are deleted; a stale `.old-` folder is renamed back to its snapshot
    /// name when that name is free (a crash between the two renames of the fallback save), else
    /// deleted. Symbolic links, regular files and other hidden names are never touched.
    ///
    /// Caveat: process ids are only meaningful on one machine. If several machines save into
    /// one shared root at the same time, pass `includingDeadOwners: false`.
    ///
    /// Throws only for an invalid `olderThan` (negative, NaN or infinite). A missing root is
    /// nothing to clean.
    @discardableResult
    public func cleanUpStaleFolders(olderThan: TimeInterval = 3600, includingDeadOwners: Bool = true) throws -> StaleFolderCleanup {
        try cleanUpStaleFolders(olderThan: olderThan, includingDeadOwners: includingDeadOwners,
                                remove: PosixFiles.removeTree)
    }

    /// `remove` is injectable so tests can make one removal fail (the tests run as root, where
    /// permissions cannot make it fail).
    func cleanUpStaleFolders(olderThan: TimeInterval, includingDeadOwners: Bool,
                             remove: (String) throws -> Void) throws -> StaleFolderCleanup {
        guard olderThan.isFinite, olderThan >= 0 else {
            throw SessionStoreError(.invalidArgument, "cannot clean folders older than \(olderThan) seconds", path: root,
                                    hint: "Pass an age of zero or more seconds (an hour is a good default).")
        }
        var report = StaleFolderCleanup()
        guard PosixFiles.isDirectory(root) else { return report }
        let names: [String]
        do {
            names = try PosixFiles.entries(of: root)
        } catch let error as SessionStoreError {
            report.failures.append(error)
            return report
        }
        let now = Date().timeIntervalSince1970
        let ownPID = getpid()
        for entry in names.sorted(by: precedesInNameOrder) {
            guard let kind = HiddenKind.allCases.first(where: { entry.hasPrefix($0.rawValue) }) else { continue }
            let folder = root + "/" + entry
            // lstat: a symbolic link named like a hidden folder is not followed or removed.
            guard let status = PosixFiles.status(folder), status.isDirectory else { continue }
            let old = now - status.modified >= olderThan
            var ownerGone = false
            if includingDeadOwners, !old, let pid = Self.ownerPID(ofHiddenFolder: entry, kind: kind), pid != ownPID {
                ownerGone = !Self.processIsRunning(pid)
            }
            guard old || ownerGone else { continue }
            do {
                if kind == .aside, let name = Self.snapshotName(ofHiddenFolder: entry, kind: kind),
                   !PosixFiles.exists(path(forName: name)) {
                    if PosixFiles.rename(folder, to: path(forName: name)) == 0 {
                        report.restored.append(.init(folder: entry, snapshot: name))
                        continue
                    }
                    let code = errno
                    // Another clean-up restored or removed it first: nothing left to do.
                    if code == ENOENT { continue }
                    throw SessionStoreError.posix("restoring a snapshot moved aside", path: folder, errno: code)
                }
                try remove(folder)
                report.removed.append(entry)
            } catch let error as SessionStoreError {
                report.failures.append(error)
            } catch {
                report.failures.append(SessionStoreError(.ioFailed, "could not clean up: \(error)", path: folder,
                                                         hint: "Remove the folder by hand."))
            }
        }
        if !report.removed.isEmpty || !report.restored.isEmpty { try? PosixFiles.syncDirectory(root) }
        return report
    }

    /// The process id in a hidden folder's name (`<kind><name>-<pid>-<random>`), when it is one.
    static func ownerPID(ofHiddenFolder folder: String, kind: HiddenKind) -> pid_t? {
        guard folder.hasPrefix(kind.rawValue) else { return nil }
        let parts = folder.dropFirst(kind.rawValue.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return nil }
        return pid
    }

    /// True unless the system says no process has this id (EPERM means it runs as another user).
    static func processIsRunning(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }
}
