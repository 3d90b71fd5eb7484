import Dispatch
import Foundation
import CBLAS
import CKernels
import Synchronization

/// Splits a loop over `count` items into contiguous ranges run on all cores. Used for the
/// memory-bound passes around the GEMMs (im2col, col2im, norms, BatchNorm); OpenBLAS runs its
/// own threads only inside sgemm, so the two never compete for long.
enum Parallel {
    /// The cores the process may use (2 on the reference machine). OpenBLAS is held at one
    /// thread: SphereLab splits GEMMs itself (`parallelSgemm`), so BLAS threads never spin
    /// beside its own loops.
    private static let defaultWorkers: Int = {
        openblas_set_num_threads(1)
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
    /// What `configure(threads:)` chose (0: the default).
    private static let chosenWorkers = Atomic<Int>(0)
    /// Set by the first parallel loop: from then on the worker count is fixed for the
    /// process, so no layer can meet a count other than the one it sized its accumulators for.
    private static let inUse = Atomic<Bool>(false)

    /// Worker count, fixed once the first parallel loop has run.
    static var workers: Int {
        let chosen = chosenWorkers.load(ordering: .relaxed)
        return chosen > 0 ? chosen : defaultWorkers
    }

    /// Sets the worker count. Only before the first parallel loop (the command line does,
    /// once, before training); afterwards a different count is refused (returns false) and
    /// the count in use stays.
    @discardableResult
    public static func configure(threads: Int) -> Bool {
        _ = defaultWorkers   // runs the initialiser (OpenBLAS → one thread) first
        let n = max(1, threads)
        if inUse.load(ordering: .acquiring) { return n == workers }
        chosenWorkers.store(n, ordering: .releasing)
        return true
    }

    /// Runs `body` over ranges covering 0..<count; falls back to one call when the work is
    /// small (`count < minimumPerWorker · 2`).
    @inline(__always)
    static func forEach(_ count: Int, minimumPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachWorker(count, minimumPerWorker: minimumPerWorker) { range, _ in body(range) }
    }

    /// As `forEach`, also passing the worker's index in 0..<workers (for per-worker
    /// accumulators). Pass `workers` when accumulators were sized from it: worker indices
    /// then stay below it whatever happens elsewhere.
    static func forEachWorker(_ count: Int, workers: Int? = nil, minimumPerWorker: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        if !inUse.load(ordering: .relaxed) { inUse.store(true, ordering: .relaxed) }
        let parts = min(workers ?? Parallel.workers, count / max(1, minimumPerWorker))
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
