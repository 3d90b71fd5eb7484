import Foundation

/// A value guarded by a pthread mutex (NSLock). Used instead of `Synchronization.Mutex` for
/// the trainer/UI hand-over because ThreadSanitizer models pthread locks, while Mutex's
/// futex path is invisible to it and shows up as false races — and the thread sanitizer must
/// stay quiet on real runs.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
