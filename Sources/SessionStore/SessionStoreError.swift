#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the session store, as a value: which problem (`kind`), where it was found
/// (file, tensor, byte offset) and what the person can do about it.
///
/// Callers match on `kind`; people read `description`.
public struct SessionStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The named problems. Tests assert on these, so each distinct failure has its own case.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        // safetensors framing
        case fileTooShort
        case headerLengthExceedsFile
        case headerTooLarge
        case headerNotUTF8
        case headerNotJSON
        case headerNotObject
        // safetensors entries
        case malformedEntry
        case unknownDtype
        case unsupportedDtype
        case invalidShape
        case elementCountOverflow
        case invalidOffsets
        case offsetsBeyondData
        case byteLengthMismatch
        case overlappingTensors
        case holeInData
        case duplicateTensorName
        case trailingBytes
        case invalidMetadata
        // encoding
        case shapeMismatch
        case invalidTensorName
        // snapshot folders
        case invalidSnapshotName
        case snapshotNotFound
        case missingFile
        case sessionJSONInvalid
        /// A JSON object in session.json names the same key twice (the error's message holds the
        /// key's path, e.g. `summary.step`, and `offset` its byte offset).
        case duplicateKey
        case foreignSession
        case newerVersion
        case invalidArgument
        /// The app's model-level check (see `SnapshotStore.listChecked(modelCheck:)`) refused the
        /// snapshot; the message is the check's reason.
        case modelMismatch
        // the operating system said no
        case diskFull
        case ioFailed
    }

    public var kind: Kind
    /// What happened, in words.
    public var message: String
    /// The file the problem is in (or `<memory>` for in-memory buffers).
    public var path: String?
    /// The tensor the problem concerns, when there is one.
    public var tensor: String?
    /// A byte offset (absolute in the file unless the message says otherwise).
    public var offset: Int?
    /// What to do next.
    public var hint: String

    public init(_ kind: Kind, _ message: String, path: String? = nil, tensor: String? = nil,
                offset: Int? = nil, hint: String) {
        self.kind = kind
        self.message = message
        self.path = path
        self.tensor = tensor
        self.offset = offset
        self.hint = hint
    }

    public var description: String {
        var whereParts: [String] = []
        if let path { whereParts.append(path) }
        if let tensor { whereParts.append("tensor \"\(abbreviated(tensor, limit: 200))\"") }
        if let offset { whereParts.append("byte \(offset)") }
        let location = whereParts.isEmpty ? "" : " [\(whereParts.joined(separator: ", "))]"
        return "\(message)\(location). \(hint)"
    }
}

extension SessionStoreError {
    /// The usual advice for a file that fails validation: it is damaged or was not written as
    /// a safetensors file.
    static let damagedFileHint =
        "The file is damaged or is not a safetensors file; restore it from another snapshot or re-save it."

    /// A failure of the operating system, with errno translated into words. Full-disk style
    /// errors get their own kind because the remedy (free space) differs from other I/O errors.
    static func posix(_ operation: String, path: String, errno code: Int32) -> SessionStoreError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG:
            return SessionStoreError(.diskFull, "\(operation) failed: \(reason) (errno \(code))", path: path,
                                     hint: "Free some disk space (or raise the quota/file-size limit) and save again; the previous snapshot is untouched.")
        default:
            return SessionStoreError(.ioFailed, "\(operation) failed: \(reason) (errno \(code))", path: path,
                                     hint: "Check that the path exists, is writable and is on a working file system.")
        }
    }
}

/// Text from a file cut to `limit` characters for a message (a hostile file can hold a key, a
/// dtype or a number of megabytes, and a message must stay a sentence).
func abbreviated(_ text: String, limit: Int = 40) -> String {
    var count = 0
    var end = text.startIndex
    while end < text.endIndex {
        if count == limit { return String(text[..<end]) + "…" }
        count += 1
        end = text.index(after: end)
    }
    return text
}

/// A shape for a message: all dimensions when there are few, else the first ones and the count.
func shapeText(_ shape: [Int]) -> String {
    guard shape.count > 8 else { return "\(shape)" }
    return "[" + shape.prefix(6).map(String.init).joined(separator: ", ") + ", … (\(shape.count) dimensions)]"
}
