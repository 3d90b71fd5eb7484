import CZlib
import Foundation

/// Reads one dataset file's content front to back, whether the file is stored raw or
/// gzip-compressed. Compression is told by the gzip magic bytes 1f 8b, never by the
/// name. zlib's `gzread` inflates gzip streams and passes other files through
/// unchanged, so the parsers see the same bytes either way.
///
/// Sizes are checked before anything large is allocated: a header may claim any size,
/// but the content must fit under `maximumContentBytes`, a raw file must be exactly as
/// long as its header says, and a gzip file cannot inflate beyond deflate's maximum
/// ratio of its stored size.
final class ContentReader {
    /// No file of a supported dataset comes near this (the largest, CIFAR-100 train.bin,
    /// is 154 MB); anything larger is a damaged or foreign header.
    static let maximumContentBytes = 1 << 30

    /// Deflate cannot expand data by more than about 1032:1; a header claiming more
    /// than this times the stored size cannot be honest.
    static let maximumDeflateRatio = 1032

    let path: String
    let isGzip: Bool
    /// Bytes the file occupies on disk.
    let storedSize: Int
    /// Content bytes delivered so far; the offset reported in errors.
    private(set) var offset = 0
    /// What the person should do when this file is bad.
    let remedy: String
    private let file: gzFile

    /// Opens `path`. Throws when it is missing, not a regular file, or unreadable.
    init(path: String, remedy: String) throws {
        self.path = path
        self.remedy = remedy
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw DataError(file: path, expected: "the file to exist", found: reason, remedy: remedy)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw DataError(file: path, expected: "a regular file", found: kind, remedy: remedy)
        }
        guard let handle = gzopen(path, "rb") else {
            throw DataError(file: path, expected: "a readable file",
                            found: "it cannot be opened (\(String(cString: strerror(errno))))",
                            remedy: "Check the file's permissions. " + remedy)
        }
        storedSize = Int(info.st_size)
        file = handle
        // Larger than zlib's 8 KiB default: fewer system calls on the 26 MB archives.
        gzbuffer(handle, 1 << 17)
        isGzip = Self.startsWithGzipMagic(path)
    }

    deinit {
        gzclose(file)
    }

    private static func startsWithGzipMagic(_ path: String) -> Bool {
        guard let stream = fopen(path, "rb") else { return false }
        defer { fclose(stream) }
        var magic: (UInt8, UInt8) = (0, 0)
        let got = withUnsafeMutableBytes(of: &magic) { fread($0.baseAddress, 1, 2, stream) }
        return got == 2 && magic.0 == 0x1f && magic.1 == 0x8b
    }

    /// "gzip-compressed" or "raw", for messages.
    var storageDescription: String { isGzip ? "gzip-compressed" : "raw" }

    func error(at offset: Int?, expected: String, found: String) -> DataError {
        DataError(file: path, offset: offset, expected: expected, found: found, remedy: remedy)
    }

    /// Refuses a content size (header included) that cannot be right for this file,
    /// before any buffer for it is allocated. `claim` says where the size came from.
    func checkContentSize(_ total: Int?, claim: String) throws {
        guard let total, total <= Self.maximumContentBytes else {
            let size = total.map { "\($0) bytes" } ?? "more bytes than fit in memory"
            throw error(at: 0, expected: "at most \(Self.maximumContentBytes) bytes of content",
                        found: "\(claim) (\(size)); the header is damaged or this is not a dataset file")
        }
        if isGzip {
            let ceiling = storedSize.multipliedReportingOverflow(by: Self.maximumDeflateRatio)
            if !ceiling.overflow && total > ceiling.partialValue + (1 << 16) {
                throw error(at: 0, expected: "a size a \(storedSize)-byte gzip file can hold",
                            found: "\(claim) (\(total) bytes); the file is truncated or its header is damaged")
            }
        } else if storedSize != total {
            let problem = storedSize < total ? "the file is truncated" : "the file has \(storedSize - total) bytes of trailing data"
            throw error(at: nil, expected: "\(total) bytes (\(claim))",
                        found: "a \(storedSize)-byte file; \(problem)")
        }
    }

    /// Reads exactly `count` content bytes; `what` names them for a truncation message.
    func read(_ count: Int, what: String) throws -> [UInt8] {
        precondition(count >= 0 && count <= Self.maximumContentBytes, "check sizes before reading")
        let start = offset
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            guard count > 0, let base = buffer.baseAddress else { return }
            var filled = 0
            while filled < count {
                let request = UInt32(min(count - filled, 1 << 24))
                let got = gzread(file, base + filled, request)
                if got > 0 {
                    // A stream error met after these bytes stays set in zlib and is
                    // reported by the read that needs more, or by `expectEnd`.
                    filled += Int(got)
                    continue
                }
                if let zlibProblem = zlibFailure() {
                    throw error(at: start + filled, expected: "\(count) bytes of \(what)",
                                found: "\(storageDescription) data that stops after \(filled) of them (zlib: \(zlibProblem)); the file is damaged or cut short")
                }
                throw error(at: start + filled, expected: "\(count) bytes of \(what)",
                            found: "the content ends after \(filled) of them; the file is truncated")
            }
            initialized = count
            offset = start + count
        }
    }

    /// Confirms the content ends here, so a file never carries more than its header says.
    func expectEnd(describedAs description: String) throws {
        var probe: UInt8 = 0
        let got = gzread(file, &probe, 1)
        if let zlibProblem = zlibFailure() {
            throw error(at: offset, expected: "the end of the content (\(description))",
                        found: "\(storageDescription) data that cannot be read to its end (zlib: \(zlibProblem)); the file is damaged or cut short")
        }
        if got > 0 {
            throw error(at: offset, expected: "the end of the content (\(description))",
                        found: "more bytes; the header disagrees with the decompressed size")
        }
    }

    /// zlib's message when the stream is in an error state, nil when it is healthy.
    private func zlibFailure() -> String? {
        var code: Int32 = Z_OK
        let message = gzerror(file, &code)
        guard code != Z_OK else { return nil }
        if code == Z_ERRNO { return String(cString: strerror(errno)) }
        guard let message else { return "error \(code)" }
        // zlib prefixes the path, which the DataError already names.
        let text = String(cString: message)
        return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
    }
}

/// True when `path` names a regular file (following symbolic links).
func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}
