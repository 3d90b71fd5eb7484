/// Float sums over long channel planes, with eight partial sums in a SIMD register. A plain
/// `for` loop summing into one Float stays scalar (the compiler keeps the sequential rounding
/// order), one add per four cycles; these run at memory speed. The order of additions differs
/// from a sequential sum, so results agree to rounding, not bit for bit.

/// Σ x[i], i < n.
@inline(__always)
func planeSum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var acc = SIMD8<Float>.zero, i = 0
    while i + 8 <= n {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < n { total += x[i]; i += 1 }
    return total
}

/// Σ (x[i] − center)², i < n.
@inline(__always)
func planeSquaredDeviations(_ x: UnsafePointer<Float>, count n: Int, center: Float) -> Float {
    let raw = UnsafeRawPointer(x)
    let c = SIMD8<Float>(repeating: center)
    var acc = SIMD8<Float>.zero, i = 0
    while i + 8 <= n {
        let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - c
        acc += d * d
        i += 8
    }
    var total = acc.sum()
    while i < n { let d = x[i] - center; total += d * d; i += 1 }
    return total
}

/// (Σ a[i]·b[i], Σ a[i]), i < n.
@inline(__always)
func planeDotAndSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> (dot: Float, sum: Float) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var dot = SIMD8<Float>.zero, sum = SIMD8<Float>.zero, i = 0
    while i + 8 <= n {
        let va = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        dot += va * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        sum += va
        i += 8
    }
    var d = dot.sum(), s = sum.sum()
    while i < n { d += a[i] * b[i]; s += a[i]; i += 1 }
    return (d, s)
}

/// (Σ a[i]·(b[i] − center), Σ a[i]), i < n: BatchNorm's Σ dy·(x − mean) without the
/// cancellation of Σ dy·x − mean·Σ dy.
@inline(__always)
func planeCentredDotAndSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int,
                           center: Float) -> (dot: Float, sum: Float) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let c = SIMD8<Float>(repeating: center)
    var dot = SIMD8<Float>.zero, sum = SIMD8<Float>.zero, i = 0
    while i + 8 <= n {
        let va = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        dot += va * (rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - c)
        sum += va
        i += 8
    }
    var d = dot.sum(), s = sum.sum()
    while i < n { d += a[i] * (b[i] - center); s += a[i]; i += 1 }
    return (d, s)
}

/// `planeCentredDotAndSum` for a BatchNorm that applies the following ReLU itself: first
/// a[i] = 0 where the layer's output was not positive (written back, as the ReLU's backward
/// would), then the same sums over the masked values in the same order — bit for bit what the
/// ReLU pass followed by `planeCentredDotAndSum` gives, in one pass over the plane instead of two.
/// The output's sign comes from `b` (the layer's input) as it is read: b·scale + shift, the
/// product and the sum rounded apart as the forward computes the output, so the mask needs no
/// kept output.
@inline(__always)
func planeMaskedCentredDotAndSum(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count n: Int, center: Float,
                                       keyScale: Float, keyShift: Float) -> (dot: Float, sum: Float) {
    let ra = UnsafeMutableRawPointer(a), rb = UnsafeRawPointer(b)
    let c = SIMD8<Float>(repeating: center)
    let (ks, kt) = (SIMD8<Float>(repeating: keyScale), SIMD8<Float>(repeating: keyShift))
    var dot = SIMD8<Float>.zero, sum = SIMD8<Float>.zero, i = 0
    while i + 8 <= n {
        let vb = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let k = vb * ks + kt
        let keep = unsafeBitCast(k .> SIMD8<Float>(repeating: 0), to: SIMD8<Int32>.self)   // all ones or zero
        let raw = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Int32>.self)
        let va = unsafeBitCast(raw & keep, to: SIMD8<Float>.self)
        ra.storeBytes(of: va, toByteOffset: i * 4, as: SIMD8<Float>.self)
        dot += va * (vb - c)
        sum += va
        i += 8
    }
    var d = dot.sum(), s = sum.sum()
    while i < n {
        let k = b[i] * keyScale + keyShift
        a[i] = k > 0 ? a[i] : 0
        d += a[i] * (b[i] - center); s += a[i]; i += 1
    }
    return (d, s)
}

