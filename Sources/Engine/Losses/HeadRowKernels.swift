/// The row loops of the score head: each runs over one contiguous feature row of length D.
/// D ≤ 512 and C ≤ 100 keep the head tiny next to the convolutions, so these stay plain loops.
enum HeadRowKernels {
    /// Σ a·b with four independent partial sums: strict floating-point order forbids the
    /// compiler from splitting one accumulator, and one chain would stall on add latency.
    @inline(__always)
    static func dot<S: BinaryFloatingPoint>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ count: Int) -> S {
        var s0: S = 0, s1: S = 0, s2: S = 0, s3: S = 0
        var k = 0
        while k + 4 <= count {
            s0 += a[k] * b[k]
            s1 += a[k + 1] * b[k + 1]
            s2 += a[k + 2] * b[k + 2]
            s3 += a[k + 3] * b[k + 3]
            k += 4
        }
        while k < count {
            s0 += a[k] * b[k]
            k += 1
        }
        return (s0 + s1) + (s2 + s3)
    }

    /// y += α·x
    @inline(__always)
    static func addScaled<S: BinaryFloatingPoint>(_ alpha: S, _ x: UnsafePointer<S>, to y: UnsafeMutablePointer<S>, _ count: Int) {
        for k in 0..<count { y[k] += alpha * x[k] }
    }

    /// y = α·x
    @inline(__always)
    static func assignScaled<S: BinaryFloatingPoint>(_ alpha: S, _ x: UnsafePointer<S>, to y: UnsafeMutablePointer<S>, _ count: Int) {
        for k in 0..<count { y[k] = alpha * x[k] }
    }

    /// sqrt(Σx² + ε): the ε keeps the norm (and the gradient through it) finite at x = 0.
    @inline(__always)
    static func norm<S: BinaryFloatingPoint>(_ x: UnsafePointer<S>, _ count: Int, epsilon: Double) -> Double {
        (Double(dot(x, x, count)) + epsilon).squareRoot()
    }
}
