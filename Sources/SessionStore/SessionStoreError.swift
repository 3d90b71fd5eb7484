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
        case foreignSession
        case newerVersion
        case invalidArgument
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
        if let tensor { whereParts.append("tensor \"\(tensor)\"") }
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
