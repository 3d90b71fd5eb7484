#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a snapshot folder holds. The store does not interpret the tensors or the session JSON
/// beyond the generic fields (`format`, `version`, `summary`).
public struct SnapshotContents: Sendable, Equatable {
    public var weights: [NamedTensor]
    public var optimizer: [NamedTensor]
    /// UTF-8 JSON object with at least `"format": "spherelab-session"` and an integer `"version"`.
    public var sessionJSON: [UInt8]
    /// Written as `__metadata__` into both safetensors files; read back from weights.safetensors.
    public var metadata: [String: String]

    public init(weights: [NamedTensor], optimizer: [NamedTensor], sessionJSON: [UInt8], metadata: [String: String] = [:]) {
        self.weights = weights
        self.optimizer = optimizer
        self.sessionJSON = sessionJSON
        self.metadata = metadata
    }
}

/// Snapshot folders under one root (by default `Sessions/`):
///
///     <root>/<name>/weights.safetensors
///     <root>/<name>/optimizer.safetensors
///     <root>/<name>/session.json
///
/// Saving is atomic: files are written and flushed in a hidden temporary folder which then
/// replaces `<name>` in one rename (or an atomic exchange when `<name>` exists). Folders whose
/// names start with "." are the store's own work in progress and are never listed or loaded.
public struct SnapshotStore: Sendable {
    /// The newest session.json format version this build reads and writes.
    public static let formatVersion = 1

    public static let weightsFileName = "weights.safetensors"
    public static let optimizerFileName = "optimizer.safetensors"
    public static let sessionFileName = "session.json"

    public let root: String
    /// Tests turn this off to exercise the rename-aside path used where the file system cannot
    /// exchange two folders atomically.
    var usesFolderExchange = true

    public init(root: String = "Sessions") {
        // A trailing slash would only double up in joined paths.
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed.isEmpty ? "." : trimmed
    }

    /// The naming rule in words, for messages and dialogs.
    public static let nameRule =
        "Use 1–100 characters from A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.'."

    /// True when `s` is a snapshot name: 1…100 characters from [A-Za-z0-9._-], not starting
    /// with "." (hidden names are reserved for the store's temporary folders). This is the one
    /// rule: `save`, `load(name:)` and listings apply it, and front ends should too
    /// (`nameProblem` gives the message to show).
    public static func isValidName(_ s: String) -> Bool { nameProblem(s) == nil }

    /// Why `name` cannot name a snapshot, as a sentence a save dialog or command line can show
    /// verbatim (what is wrong, then the rule); nil when the name is fine. Refuses the empty
    /// name, ".", "..", anything starting with ".", '/', spaces, control characters, non-ASCII
    /// letters and names over 100 bytes.
    public static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        let shown = displayName(name)
        if bytes.isEmpty { return "The snapshot name is empty. " + nameRule }
        if name == "." || name == ".." {
            return "\"\(name)\" names a folder, not a snapshot. " + nameRule
        }
        if bytes[0] == UInt8(ascii: ".") {
            return "\(shown) starts with '.', which is reserved for the store's working folders. " + nameRule
        }
        if bytes.count > 100 {
            return "\(shown) is \(bytes.count) bytes long; at most 100 are allowed. " + nameRule
        }
        for scalar in name.unicodeScalars where !isAllowedNameScalar(scalar) {
            let what: String
            switch scalar {
            case "/": what = "'/' (a snapshot name cannot contain a folder)"
            case " ": what = "a space"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: what = "a control character (U+\(hex4(scalar.value)))"
            case _ where !scalar.isASCII: what = "'\(scalar)' (U+\(hex4(scalar.value)), not an ASCII letter or digit)"
            default: what = "'\(scalar)'"
            }
            return "\(shown) contains \(what). " + nameRule
        }
        return nil
    }

    private static func isAllowedNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// A name quoted for messages: control characters escaped, long names cut.
    static func displayName(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars.prefix(60) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if name.unicodeScalars.count > 60 { out += "…" }
        return "\"" + out + "\""
    }

    /// The folder a snapshot of this name lives in.
    public func path(forName name: String) -> String { root + "/" + name }

    // MARK: Saving

    /// Writes `<root>/<name>/` atomically and returns its path. A crash, kill or full disk at any
    /// moment leaves the previous `<name>` complete and loadable; on a write error the temporary
    /// folder is removed and the error thrown.
    @discardableResult
    public func save(_ contents: SnapshotContents, name: String) throws -> String {
        guard Self.isValidName(name) else { throw Self.invalidNameError(name) }
        // Everything is checked and encoded before the disk is touched, so invalid input never
        // leaves a folder behind and a snapshot that could not be loaded is never written.
        try SessionDocument.validate(contents.sessionJSON, path: Self.sessionFileName + " (to be saved as \(name))")
        let weights = try encodeNamingFile(contents.weights, metadata: contents.metadata, file: Self.weightsFileName)
        let optimizer = try encodeNamingFile(contents.optimizer, metadata: contents.metadata, file: Self.optimizerFileName)

        try PosixFiles.makeDirectories(root)
        let temporary = try makeHiddenFolder(kind: .temporary, name: name)
        do {
            try PosixFiles.writeNewFileDurably(weights, to: temporary + "/" + Self.weightsFileName)
            try PosixFiles.writeNewFileDurably(optimizer, to: temporary + "/" + Self.optimizerFileName)
            try PosixFiles.writeNewFileDurably(contents.sessionJSON, to: temporary + "/" + Self.sessionFileName)
            try PosixFiles.syncDirectory(temporary)
            try install(temporary, name: name)
        } catch {
            try? PosixFiles.removeTree(temporary)
            throw error
        }
        return path(forName: name)
    }

    /// Writes `<root>/<name>/` as a unit holding several snapshots — one subfolder each, each
    /// loadable alone — plus one manifest file beside them. Everything is written into a hidden
    /// temporary folder that then replaces `<name>` in one step, so a crash, kill or full disk
    /// leaves either the whole previous group or the whole new one.
    @discardableResult
    public func saveGroup(_ members: [(name: String, contents: SnapshotContents)], manifest: [UInt8], manifestFile: String,
                          name: String) throws -> String {
        guard Self.isValidName(name) else { throw Self.invalidNameError(name) }
        guard Self.isValidName(manifestFile) else { throw Self.invalidNameError(manifestFile) }
        var seen: Set<String> = [manifestFile]
        for m in members {
            guard Self.isValidName(m.name) else { throw Self.invalidNameError(m.name) }
            guard seen.insert(m.name).inserted else {
                throw SessionStoreError(.invalidSnapshotName, "\"\(m.name)\" is used twice in one group", path: path(forName: name),
                                        hint: "Give every member of the group its own name.")
            }
        }
        try PosixFiles.makeDirectories(root)
        let temporary = try makeHiddenFolder(kind: .temporary, name: name)
        do {
            let inner = SnapshotStore(root: temporary)
            for m in members { try inner.save(m.contents, name: m.name) }
            try PosixFiles.writeNewFileDurably(manifest, to: temporary + "/" + manifestFile)
            try PosixFiles.syncDirectory(temporary)
            try install(temporary, name: name)
        } catch {
            try? PosixFiles.removeTree(temporary)
            throw error
        }
        return path(forName: name)
    }

    private func encodeNamingFile(_ tensors: [NamedTensor], metadata: [String: String], file: String) throws -> [UInt8] {
        do {
            return try SafeTensors.encode(tensors, metadata: metadata)
        } catch var error as SessionStoreError {
            error.path = file + " (to be saved)"
            throw error
        }
    }

    /// Moves the finished temporary folder to `final`. Once this returns or throws, `final` is
    /// either the complete new snapshot or the untouched old one.
    private func install(_ temporary: String, name: String) throws {
        let final = path(forName: name)
        if PosixFiles.rename(temporary, to: final) == 0 {
            // Readers already see the new snapshot, so a failed flush of the root is not reported
            // as a failed save (the rename itself cannot be undone into something better).
            try? PosixFiles.syncDirectory(root)
            return
        }
        let code = errno
        guard code == EEXIST || code == ENOTEMPTY else {
            throw SessionStoreError.posix("moving the new snapshot into place", path: final, errno: code)
        }
        if usesFolderExchange {
            switch FolderExchange.exchange(temporary, final) {
            case .exchanged:
                // The new snapshot is in place; the old one now sits under the temporary name.
                // Failing to flush or tidy now must not report the completed save as failed:
                // leftovers are hidden and removeStaleTemporaries deletes them.
                try? PosixFiles.syncDirectory(root)
                try? PosixFiles.removeTree(temporary)
                return
            case .unsupported:
                break
            case .failed(let code):
                throw SessionStoreError.posix("swapping the new snapshot into place", path: final, errno: code)
            }
        }
        // Rename-aside: between these two renames `final` does not exist, but the old snapshot
        // is complete under the hidden ".old-" name and removeStaleTemporaries puts it back.
        let aside = hiddenFolderPath(kind: .aside, name: name)
        guard PosixFiles.rename(final, to: aside) == 0 else {
            throw SessionStoreError.posix("moving the previous snapshot aside", path: final, errno: errno)
        }
        guard PosixFiles.rename(temporary, to: final) == 0 else {
            let code = errno
            _ = PosixFiles.rename(aside, to: final)
            throw SessionStoreError.posix("moving the new snapshot into place", path: final, errno: code)
        }
        try? PosixFiles.syncDirectory(root)
        try? PosixFiles.removeTree(aside)
    }

    // MARK: Loading

    /// Loads a snapshot folder, checking that all three files exist and decode and that
    /// session.json is a SphereLab session of a version this build understands. The three files
    /// are opened through one folder descriptor, so a save replacing the folder meanwhile cannot
    /// mix two snapshots. The store's hidden folders are refused.
    public func load(path: String) throws -> SnapshotContents {
        if let error = Self.hiddenFolderError(path: path) { throw error }
        // A save that swaps in a new folder and deletes the old one while this load reads can
        // make a file vanish under it: then the load starts over on the new folder.
        var attemptsLeft = 5
        while true {
            let folder = try OpenFolder(path: path)
            defer { folder.close() }
            do {
                return try Self.load(folder)
            } catch where attemptsLeft > 0 && folder.wasReplaced() {
                attemptsLeft -= 1
            }
        }
    }

    /// The store's hidden working folders are never loaded (nor marked ok by a check).
    static func hiddenFolderError(path: String) -> SessionStoreError? {
        let folderName = path.split(separator: "/").last.map(String.init) ?? path
        guard HiddenKind.allCases.contains(where: { folderName.hasPrefix($0.rawValue) }) else { return nil }
        return SessionStoreError(.invalidSnapshotName, "\"\(folderName)\" is a hidden working folder of the store, not a snapshot",
                                 path: path, hint: "Load a listed snapshot; cleanUpStaleFolders() cleans such folders up.")
    }

    private static func load(_ folder: OpenFolder) throws -> SnapshotContents {
        let files = try SnapshotFiles(folder)
        defer { files.close() }
        // session.json first: a newer format version may also mean tensors this build cannot read,
        // and "update SphereLab" is then the useful message.
        let sessionJSON = try readSessionJSON(files.session).bytes
        let weights = try SafeTensors.read(files.weights)
        let optimizer = try SafeTensors.read(files.optimizer)
        return SnapshotContents(weights: weights.tensors, optimizer: optimizer.tensors, sessionJSON: sessionJSON,
                                metadata: weights.metadata)
    }

    /// Loads `<root>/<name>`.
    public func load(name: String) throws -> SnapshotContents {
        guard Self.isValidName(name) else { throw Self.invalidNameError(name) }
        return try load(path: path(forName: name))
    }

    /// The three files of a snapshot, all opened (or none: a failure closes what was opened).
    struct SnapshotFiles {
        let session: ReadableFile
        let weights: ReadableFile
        let optimizer: ReadableFile

        init(_ folder: OpenFolder) throws {
            let session = try folder.openFile(SnapshotStore.sessionFileName)
            let weights: ReadableFile
            do {
                weights = try folder.openFile(SnapshotStore.weightsFileName)
            } catch {
                session.close()
                throw error
            }
            do {
                optimizer = try folder.openFile(SnapshotStore.optimizerFileName)
            } catch {
                session.close()
                weights.close()
                throw error
            }
            self.session = session
            self.weights = weights
        }

        func close() {
            session.close()
            weights.close()
            optimizer.close()
        }
    }

    /// Reads and validates a session.json, refusing oversized files before reading them.
    static func readSessionJSON(_ file: ReadableFile) throws -> (bytes: [UInt8], json: JSONValue) {
        guard file.size <= SessionDocument.maximumLength else {
            throw SessionStoreError(.sessionJSONInvalid, "session.json is \(file.size) bytes, over the \(SessionDocument.maximumLength)-byte limit",
                                    path: file.path, hint: "The file is damaged or not a SphereLab session.")
        }
        let bytes = try file.readAll()
        return (bytes, try SessionDocument.validate(bytes, path: file.path))
    }

    static func invalidNameError(_ name: String) -> SessionStoreError {
        let problem = nameProblem(name) ?? "\(displayName(name)) is not a valid snapshot name. " + nameRule
        // The problem sentence ends with the rule; the error keeps them apart (message, hint).
        let message = problem.hasSuffix(" " + nameRule) ? String(problem.dropLast(nameRule.count + 1)) : problem
        return SessionStoreError(.invalidSnapshotName, message.hasSuffix(".") ? String(message.dropLast()) : message,
                                 hint: nameRule)
    }

    // MARK: Hidden folders

    /// The store's hidden folders. `.tmp-` holds a save in progress (or, after an exchange, the
    /// replaced snapshot); `.old-` is a previous snapshot moved aside; `.trash-` is being deleted.
    enum HiddenKind: String, CaseIterable {
        case temporary = ".tmp-"
        case aside = ".old-"
        case trash = ".trash-"
    }

    /// `<root>/<kind><name>-<pid>-<random>`: the pid and random suffix keep concurrent savers apart.
    func hiddenFolderPath(kind: HiddenKind, name: String) -> String {
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return "\(root)/\(kind.rawValue)\(name)-\(getpid())-\(suffix)"
    }

    func makeHiddenFolder(kind: HiddenKind, name: String) throws -> String {
        for _ in 0..<8 {
            let candidate = hiddenFolderPath(kind: kind, name: name)
            if mkdir(candidate, 0o755) == 0 { return candidate }
            if errno != EEXIST { throw SessionStoreError.posix("creating a temporary folder", path: candidate, errno: errno) }
        }
        throw SessionStoreError(.ioFailed, "could not find a free temporary folder name", path: root,
                                hint: "Remove stale .tmp-* folders (removeStaleTemporaries) and save again.")
    }

    /// The snapshot name a hidden folder belongs to: the text between the kind prefix and the
    /// "-<pid>-<random>" suffix.
    static func snapshotName(ofHiddenFolder folder: String, kind: HiddenKind) -> String? {
        guard folder.hasPrefix(kind.rawValue) else { return nil }
        var parts = folder.dropFirst(kind.rawValue.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        parts.removeLast(2)
        let name = parts.joined(separator: "-")
        return isValidName(name) ? name : nil
    }
}
