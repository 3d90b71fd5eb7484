import CBLAS
import Foundation

/// Row-major single-precision matrix product through OpenBLAS:
/// C (m×n, leading dimension ldc) = alpha · op(A) · op(B) + beta · C.
@inline(__always)
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    assert(m > 0 && n > 0 && k > 0, "sgemm with empty dimension")
    // For beta 0, OpenBLAS first clears C in a pass that ran at a fraction of memset's speed
    // (6–12 % of a step in profiles); clearing C here and adding into it (beta 1) is the same
    // product without that cost. C is never read, as beta 0 promises.
    var beta = beta
    if beta == 0 {
        if ldc == n {
            c.update(repeating: 0, count: m * n)
        } else {
            for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
        }
        beta = 1
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// `sgemm` split across SphereLab's workers along the larger of m and n, each part a
/// single-threaded OpenBLAS call. With OpenBLAS kept at one thread, no BLAS thread spins
/// (sched_yield) while SphereLab's own parallel loops run between GEMMs.
func parallelSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                   alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int,
                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    // Parts narrower than this lose more to packing than they gain from the second core.
    let minimumPart = 64
    if n >= m {
        Parallel.forEach(n, minimumPerWorker: minimumPart) { r in
            let bPart = transB ? b + r.lowerBound * ldb : b + r.lowerBound
            sgemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                  b: bPart, ldb: ldb, beta: beta, c: c + r.lowerBound, ldc: ldc)
        }
    } else {
        Parallel.forEach(m, minimumPerWorker: minimumPart) { r in
            let aPart = transA ? a + r.lowerBound : a + r.lowerBound * lda
            sgemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha, a: aPart, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
        }
    }
}

/// The slow obvious twin of `sgemm`, used by tests.
func referenceGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                   alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int,
                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(av) * Double(bv)
            }
            c[i * ldc + j] = alpha * Float(sum) + (beta == 0 ? 0 : beta * c[i * ldc + j])
        }
    }
}

/// Thread control: SphereLab's workers (they also split every convolution GEMM).
public enum BLASThreads {
    public static var count: Int { Parallel.workers }
    /// Before training only: afterwards a different count is refused (false).
    @discardableResult
    public static func set(_ n: Int) -> Bool { Parallel.configure(threads: n) }
}

/// Which of OpenBLAS's kernel sets serves `sgemm`: the library picks one per CPU as it loads
/// ("Haswell", "SkylakeX", "Zen", …), or takes the one OPENBLAS_CORETYPE names. Sets block
/// their sums differently, so the last bits of a product (and of a fixed-seed run that goes
/// through OpenBLAS) depend on it; `bench --sgemm` prints it beside the rate.
public enum OpenBLASKernels {
    public static var name: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }
}
