#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Thin POSIX wrappers for the store. The write path needs exact control over open flags, fsync
// of files and folders and rename semantics, which Foundation's file APIs do not promise.

/// `close` under a name that the `close()` methods of the types here do not shadow.
@inline(__always)
func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

enum PosixFiles {
    /// Creates `path` (which must not exist), writes all bytes, fsyncs and closes it. On any
    /// failure the partial file is left for the caller's folder clean-up.
    static func writeNewFileDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SessionStoreError.posix("creating", path: path, errno: errno) }
        var closed = false
        defer { if !closed { _ = closeDescriptor(fd) } }
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress.map { $0 + done }, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SessionStoreError.posix("writing", path: path, errno: errno)
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw SessionStoreError.posix("flushing (fsync)", path: path, errno: errno) }
        closed = true
        // close can report a deferred write error (NFS and friends), so it is checked too.
        guard closeDescriptor(fd) == 0 else { throw SessionStoreError.posix("closing", path: path, errno: errno) }
    }

    /// fsync on a folder makes the names created or renamed inside it durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SessionStoreError.posix("opening folder for fsync", path: path, errno: errno) }
        defer { _ = closeDescriptor(fd) }
        guard fsync(fd) == 0 else { throw SessionStoreError.posix("flushing folder (fsync)", path: path, errno: errno) }
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw SessionStoreError.posix("creating folder", path: prefix, errno: errno)
            }
            prefix += "/"
        }
        guard isDirectory(path) else {
            throw SessionStoreError(.ioFailed, "exists but is not a folder", path: path, hint: "Move the file away or choose another sessions folder.")
        }
    }

    struct Status {
        var isDirectory: Bool
        var isRegularFile: Bool
        var size: Int
        /// Seconds since 1970, with fraction.
        var modified: Double
    }

    /// lstat: symbolic links are reported as neither folder nor file, so they are never followed
    /// by listing or removal.
    static func status(_ path: String) -> Status? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let type = info.st_mode & S_IFMT
        return Status(isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG, size: Int(info.st_size),
                      modified: modificationSeconds(info))
    }

    /// st_mtime with its fraction, in seconds since 1970 (the field is spelled differently per libc).
    static func modificationSeconds(_ info: stat) -> Double {
        #if canImport(Glibc)
        let time = info.st_mtim
        #else
        let time = info.st_mtimespec
        #endif
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func isDirectory(_ path: String) -> Bool { status(path)?.isDirectory == true }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Names in a folder, without "." and "..".
    static func entries(of path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SessionStoreError.posix("listing folder", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// rm -r without following symbolic links (a link inside is removed, not its target).
    static func removeTree(_ path: String) throws {
        guard let info = status(path) else { return }
        if info.isDirectory {
            let names: [String]
            do {
                names = try entries(of: path)
            } catch {
                // Another process (a concurrent clean-up) removed it first: that is the goal.
                if !exists(path) { return }
                throw error
            }
            for name in names {
                try removeTree(path + "/" + name)
            }
            guard rmdir(path) == 0 || errno == ENOENT else { throw SessionStoreError.posix("removing folder", path: path, errno: errno) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw SessionStoreError.posix("removing file", path: path, errno: errno) }
        }
    }

    static func rename(_ from: String, to: String) -> Int32 {
        #if canImport(Glibc)
        return Glibc.rename(from, to)
        #else
        return Darwin.rename(from, to)
        #endif
    }
}
