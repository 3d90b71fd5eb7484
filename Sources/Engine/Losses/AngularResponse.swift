import Foundation

extension AngularOperator {
    /// g(m·θ) at θ = acos(c), and its derivative with respect to c.
    ///
    /// For `.cosine` the value is the monotone extension ψ(θ) = (−1)ⁿ cos(mθ) − 2n on
    /// [nπ/m, (n+1)π/m]. It is computed from c alone with Chebyshev polynomials
    /// (cos(mθ) = T_m(c), d T_m/dc = m·U_{m−1}(c)), which needs no acos and stays finite as
    /// c → ±1. ψ is C¹: its slope is 0 on both sides of every joint.
    /// `.linear` and `.sigmoid` are monotone on their own and are simply evaluated at mθ.
    ///
    /// - Parameters:
    ///   - c: cos θ, strictly inside (−1, 1) for `.linear`/`.sigmoid` (callers clamp first:
    ///     dθ/dc = −1/sin θ). NaN passes through as NaN.
    ///   - m: the margin, ≥ 1 (validated by `HeadKind.validate`); 1 gives g(θ) itself.
    @inlinable
    public func response(cosine c: Double, margin m: Int) -> (value: Double, slope: Double) {
        switch self {
        case .cosine:
            // Branch index n = #{k in 1..<m : θ ≥ kπ/m} = #{k : c ≤ cos(kπ/m)}; NaN counts 0.
            var branch = 0
            for k in stride(from: 1, to: m, by: 1) where c <= cos(Double(k) * .pi / Double(m)) {
                branch += 1
            }
            // Three-term recurrences, starting at T_1 = c and U_0 = 1 (U_{−1} = 0).
            var chebyshevT = c, previousT = 1.0
            var chebyshevU = 1.0, previousU = 0.0
            for _ in stride(from: 1, to: m, by: 1) {
                (previousT, chebyshevT) = (chebyshevT, 2 * c * chebyshevT - previousT)
                (previousU, chebyshevU) = (chebyshevU, 2 * c * chebyshevU - previousU)
            }
            let sign: Double = branch % 2 == 0 ? 1 : -1
            return (sign * chebyshevT - 2 * Double(branch), sign * Double(m) * chebyshevU)
        case .linear:
            let angle = acos(c)
            let value = 1 - 2 * Double(m) * angle / .pi
            return (value, 2 * Double(m) / (.pi * (1 - c * c).squareRoot()))
        case let .sigmoid(k):
            let angle = acos(c)
            let normaliser = tanh(.pi / (4 * k))
            let t = tanh((.pi / 2 - Double(m) * angle) / (2 * k))
            // dg/dθ = −m·sech²(z)/(2k·T); dθ/dc = −1/sin θ.
            let slope = Double(m) * (1 - t * t) / (2 * k * normaliser * (1 - c * c).squareRoot())
            return (t / normaliser, slope)
        }
    }
}
