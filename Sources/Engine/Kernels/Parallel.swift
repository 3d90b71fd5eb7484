import Dispatch
import Foundation
import CBLAS
import CKernels

/// Splits a loop over `count` items into contiguous ranges run on all cores. Used for the
/// memory-bound passes around the GEMMs (im2col, col2im, norms, BatchNorm); OpenBLAS runs its
/// own threads only inside sgemm, so the two never compete for long.
enum Parallel {
    /// Worker count: the cores the process may use (2 on the reference machine), or what
    /// `configure(threads:)` set. OpenBLAS is held at one thread: SphereLab splits GEMMs
    /// itself (`parallelSgemm`), so BLAS threads never spin beside its own loops.
    nonisolated(unsafe) private(set) static var workers: Int = {
        openblas_set_num_threads(1)
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Sets the worker count. Call before training starts (the command line does, once);
    /// the value is read by every parallel loop afterwards.
    public static func configure(threads: Int) {
        _ = workers   // runs the initialiser (OpenBLAS → one thread) first
        workers = max(1, threads)
    }

    /// Runs `body` over ranges covering 0..<count; falls back to one call when the work is
    /// small (`count < minimumPerWorker · 2`).
    @inline(__always)
    static func forEach(_ count: Int, minimumPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachWorker(count, minimumPerWorker: minimumPerWorker) { range, _ in body(range) }
    }

    /// As `forEach`, also passing the worker's index in 0..<workers (for per-worker
    /// accumulators).
    static func forEachWorker(_ count: Int, minimumPerWorker: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        let parts = min(workers, count / max(1, minimumPerWorker))
        if parts <= 1 {
            if count > 0 {
                let mode = sl_flush_to_zero_begin()
                defer { sl_flush_to_zero_end(mode) }
                body(0..<count, 0)
            }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { i in
                let mode = sl_flush_to_zero_begin()   // per thread, restored for the pool
                defer { sl_flush_to_zero_end(mode) }
                let lo = count * i / parts, hi = count * (i + 1) / parts
                if hi > lo { box.value(lo..<hi, i) }
            }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`. Sound here because every worker
/// touches a disjoint range and `forEach` returns only after all of them finish.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
