import Dispatch

/// OpenBLAS sgemm measured the way the engine calls it: `parallelSgemm` splits C = A·B over
/// SphereLab's workers (`BLASThreads`, the count training uses), each part a one-thread
/// OpenBLAS call, with beta 0 cleared by the wrapper as in every convolution. Square row-major
/// n×n matrices; 2·n³ FLOP per call. This is the rate the convolution work of a training run
/// is held against (`ConvolutionWork`), so it must come from the same code path and threads.
public struct SgemmRate: Sendable {
    public struct Result: Sendable, Equatable {
        public var size: Int
        public var threads: Int
        public var warmupCalls: Int
        public var timedCalls: Int
        /// GFLOP/s of the median timed call: the figure (bench's images/s are medians too).
        public var gflops: Double
        /// GFLOP/s of the fastest timed call.
        public var bestGflops: Double
        public var medianSeconds: Double
    }

    public let size: Int
    public let warmupCalls: Int
    public let timedCalls: Int

    public init(size: Int = 2048, warmupCalls: Int = 2, timedCalls: Int = 7) throws {
        try Settings.sgemmSize.check(size)
        guard warmupCalls >= 0, timedCalls >= 1 else {
            throw EngineError("sgemm measurement needs at least one timed call (got \(warmupCalls) warm-up, \(timedCalls) timed)")
        }
        self.size = size
        self.warmupCalls = warmupCalls
        self.timedCalls = timedCalls
    }

    /// FLOP of one n×n×n product.
    public var flopPerCall: Double { 2 * Double(size) * Double(size) * Double(size) }

    /// Multiplies two seeded random matrices `warmupCalls + timedCalls` times, timing each call.
    /// Allocates its three matrices once (12·n² bytes), before the first call.
    public func measure() -> Result {
        let n = size
        var rng = SeededGenerator(seed: 2048)
        // Values in [-1, 1): products and sums stay far from overflow and from subnormals.
        let a = (0..<(n * n)).map { _ in 2 * rng.nextUnitFloat() - 1 }
        let b = (0..<(n * n)).map { _ in 2 * rng.nextUnitFloat() - 1 }
        var c = [Float](repeating: 0, count: n * n)
        var seconds: [Double] = []
        seconds.reserveCapacity(timedCalls)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for call in 0..<(warmupCalls + timedCalls) {
                        let start = DispatchTime.now().uptimeNanoseconds
                        parallelSgemm(transA: false, transB: false, m: n, n: n, k: n, a: a.baseAddress!, lda: n,
                                      b: b.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        if call >= warmupCalls { seconds.append(elapsed) }
                    }
                }
            }
        }
        let sorted = seconds.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Result(size: n, threads: BLASThreads.count, warmupCalls: warmupCalls, timedCalls: timedCalls,
                      gflops: flopPerCall / median / 1e9, bestGflops: flopPerCall / sorted[0] / 1e9, medianSeconds: median)
    }
}
