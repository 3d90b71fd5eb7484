#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open, read-only regular file with its size taken once at open time.
struct ReadableFile {
    let path: String
    let descriptor: Int32
    let size: Int

    init(path: String) throws {
        try self.init(opening: path, relativeTo: AT_FDCWD, displayPath: path)
    }

    /// Opens `name` inside an already open folder, so that several files are read from the same
    /// folder even if it is renamed or replaced meanwhile. `displayPath` is used in errors.
    init(opening name: String, relativeTo directory: Int32, displayPath path: String) throws {
        // O_NONBLOCK: opening a FIFO (named pipe) for reading otherwise waits for a writer forever,
        // so a pipe named session.json would hang every listing. It changes nothing for regular
        // files, and anything else is refused just below.
        let fd = openat(directory, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT {
                throw SessionStoreError(.missingFile, "file does not exist", path: path,
                                        hint: "Check the path; a snapshot folder needs weights.safetensors, optimizer.safetensors and session.json.")
            }
            throw SessionStoreError.posix("opening for reading", path: path, errno: code)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            _ = closeDescriptor(fd)
            throw SessionStoreError.posix("reading the file size", path: path, errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            _ = closeDescriptor(fd)
            throw SessionStoreError(.ioFailed, "not a regular file", path: path,
                                    hint: "Point at a file, not a folder or device.")
        }
        self.path = path
        self.descriptor = fd
        self.size = Int(info.st_size)
    }

    func close() { _ = closeDescriptor(descriptor) }

    /// The first `count` bytes of the file.
    func read(count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        try result.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(descriptor, buffer.baseAddress.map { $0 + done }, count - done, off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SessionStoreError.posix("reading", path: path, errno: errno)
                }
                if n == 0 {
                    throw SessionStoreError(.ioFailed, "file ended at byte \(done) although it was \(size) bytes when opened",
                                            path: path, offset: done, hint: "Another program changed the file while it was read; try again.")
                }
                done += n
            }
        }
        return result
    }

    func readAll() throws -> [UInt8] { try read(count: size) }
}

/// An open folder. Snapshot loading reads all three files through one descriptor, so a save that
/// swaps in a new folder under the same name meanwhile cannot mix files of two snapshots.
struct OpenFolder {
    let path: String
    let descriptor: Int32

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw SessionStoreError(.snapshotNotFound, "no snapshot folder here", path: path,
                                        hint: "List the snapshots (spherelab sessions) and pick one that exists.")
            }
            throw SessionStoreError.posix("opening the snapshot folder", path: path, errno: code)
        }
        self.path = path
        self.descriptor = fd
    }

    func close() { _ = closeDescriptor(descriptor) }

    /// True when the path no longer names the folder opened (it was renamed, swapped or deleted).
    func wasReplaced() -> Bool {
        var opened = stat(), current = stat()
        guard fstat(descriptor, &opened) == 0 else { return true }
        guard stat(path, &current) == 0 else { return true }
        return opened.st_ino != current.st_ino || opened.st_dev != current.st_dev
    }

    /// Opens one file of a snapshot; a missing file means the folder is not a finished snapshot.
    func openFile(_ name: String) throws -> ReadableFile {
        do {
            return try ReadableFile(opening: name, relativeTo: descriptor, displayPath: path + "/" + name)
        } catch let error as SessionStoreError where error.kind == .missingFile {
            throw SessionStoreError(.missingFile, "the snapshot is incomplete: \(name) is missing", path: path + "/" + name,
                                    hint: "This folder was not written by a finished save; load another snapshot.")
        }
    }
}
