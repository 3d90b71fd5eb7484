import Foundation
@testable import Engine

/// SplitMix64: deterministic test data for every engine test (independent of the engine's own
/// generator), so a failing case reproduces.
struct TestRandom: NormalSource, RandomNumberGenerator {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    init(state: UInt64) { self.state = state }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }
    /// Uniform in [-1, 1] in double precision.
    mutating func signedUnit() -> Double { Double.random(in: -1...1, using: &self) }
    mutating func nextGaussian() -> Float {
        let u1 = max(1e-7, uniform()), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
    mutating func gaussians(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in nextGaussian() * scale } }
}

func activation(_ values: [Float], _ shape: Shape) -> Activation { Activation(FloatBuffer(values), shape) }

/// The scalar the gradient checks differentiate: L = Σ r·out, accumulated in Double.
func projected(_ a: Activation, _ r: [Float]) -> Double {
    var s = 0.0
    for i in 0..<a.shape.count { s += Double(a.buffer[i]) * Double(r[i]) }
    return s
}

struct GradientMismatch: CustomStringConvertible {
    var what: String, index: Int, analytic: Double, numeric: Double
    var description: String { "\(what)[\(index)]: analytic \(analytic) vs numeric \(numeric)" }
}

/// Compares an analytic gradient with central differences of `loss` for the entries of
/// `values` at `indices`, with tolerance |a − n| ≤ absolute + relative·|n|.
func checkGradient(_ what: String, values: FloatBuffer, analytic: [Float], indices: [Int], step h: Float,
                   absolute: Double, relative: Double, loss: () -> Double) -> [GradientMismatch] {
    var bad: [GradientMismatch] = []
    for i in indices {
        let saved = values[i]
        values[i] = saved + h; let plus = loss()
        values[i] = saved - h; let minus = loss()
        values[i] = saved
        let numeric = (plus - minus) / (2 * Double(h))
        let a = Double(analytic[i])
        if abs(a - numeric) > absolute + relative * abs(numeric) {
            bad.append(GradientMismatch(what: what, index: i, analytic: a, numeric: numeric))
        }
    }
    return bad
}

/// Spread-out sample of indices (all of them when small).
func sampleIndices(_ count: Int, max: Int = 40) -> [Int] {
    count <= max ? Array(0..<count) : (0..<max).map { $0 * count / max }
}
