import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The last stop signal (SIGINT, SIGTERM, SIGHUP) received, 0 for none. Written by the
/// signal handler — an atomic store, which is async-signal-safe — and read between steps.
private let pendingStopSignal = Atomic<Int32>(0)

/// Headless runs stop on SIGINT/SIGTERM/SIGHUP at the next step boundary instead of dying
/// mid-step: the handler only records the signal; `HeadlessTraining` checks between steps,
/// saves, and the command exits with 128 + the signal's number.
public enum StopSignals {
    public static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the recording handler for the stop signals (idempotent).
    public static func install() {
        // A parent may have started us with these signals blocked (the mask is inherited):
        // unblock them, or they would wait for ever.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in handled { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signal in handled {
            var action = sigaction()
            sigemptyset(&action.sa_mask)
            action.__sigaction_handler.sa_handler = { received in
                pendingStopSignal.store(received, ordering: .relaxed)
            }
            sigaction(signal, &action, nil)
        }
    }

    /// The signal received since the last `clear`, if any.
    public static var pending: Int32? {
        let s = pendingStopSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    public static func clear() { pendingStopSignal.store(0, ordering: .relaxed) }

    /// "SIGTERM" for 15, and so on.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}

/// A headless run stopped by a signal; the command exits with 128 + `signal`.
public struct StoppedBySignal: Error, CustomStringConvertible {
    public let signal: Int32
    public var description: String { "stopped by \(StopSignals.name(signal))" }
}
