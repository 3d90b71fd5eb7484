#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomically swaps two existing folders, so that a reader sees either the old or the new
/// snapshot under its name and never a moment with neither.
enum FolderExchange {
    enum Outcome: Equatable {
        case exchanged
        /// The kernel or file system cannot exchange; the caller falls back to rename-aside.
        case unsupported
        case failed(errno: Int32)
    }

    #if canImport(Glibc)
    /// `renameat2`'s C signature. Glibc declares it only under _GNU_SOURCE, so Swift's Glibc module
    /// does not export it, and `syscall()` is variadic and cannot be called from Swift: the symbol
    /// is looked up at run time instead (glibc has had it since 2.28).
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
    /// RENAME_EXCHANGE from <linux/fs.h>.
    private static let renameExchangeFlag: UInt32 = 1 << 1
    #endif

    static func exchange(_ first: String, _ second: String) -> Outcome {
        #if canImport(Glibc)
        guard let handle = dlopen(nil, RTLD_NOW) else { return .unsupported }
        defer { dlclose(handle) }
        guard let symbol = dlsym(handle, "renameat2") else { return .unsupported }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let result = renameat2(AT_FDCWD, first, AT_FDCWD, second, renameExchangeFlag)
        #elseif canImport(Darwin)
        let result = renamex_np(first, second, UInt32(RENAME_SWAP))
        #else
        let result: Int32 = -1
        errno = ENOSYS
        #endif
        if result == 0 { return .exchanged }
        let code = errno
        switch code {
        case EINVAL, ENOSYS, EOPNOTSUPP, ENOTSUP: return .unsupported
        default: return .failed(errno: code)
        }
    }
}
