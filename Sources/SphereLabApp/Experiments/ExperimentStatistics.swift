import Foundation

/// Mean, sample standard deviation and count of a few numbers (one per seed).
public struct Summary: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Sample standard deviation (n − 1); nil for n < 2.
    public var sd: Double?
    public var min: Double
    public var max: Double

    public init?(_ values: [Double]) {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return nil }
        n = v.count
        mean = v.reduce(0, +) / Double(n)
        if n > 1 {
            let m = mean
            sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot()
        }
        min = v.min()!
        max = v.max()!
    }

    /// `87.12 ± 0.41 (3)` with `scale` (100 for percentages) and `digits` decimals.
    public func text(scale: Double = 1, digits: Int = 2) -> String {
        let m = String(format: "%.\(digits)f", mean * scale)
        guard let sd else { return "\(m) (\(n))" }
        return "\(m) ± \(String(format: "%.\(digits)f", sd * scale)) (\(n))"
    }
}

/// Whether two groups of seeds differ by more than their seed-to-seed spread: Welch's t with
/// the Welch–Satterthwaite degrees of freedom against the two-sided 95 % critical value.
public struct Comparison: Sendable, Equatable {
    public var difference: Double
    public var t: Double?
    public var degreesOfFreedom: Double?
    public var critical: Double?
    /// nil when it cannot be told (fewer than 2 seeds on a side, or no spread at all).
    public var exceedsSpread: Bool?

    public static let rule = "Welch's t-test, two-sided, 5 % level: a difference counts as measurable when |t| = |mean₁ − mean₂| / √(sd₁²/n₁ + sd₂²/n₂) exceeds the 97.5 % quantile of Student's t with the Welch–Satterthwaite degrees of freedom (e.g. 2.78 for 3 vs 3 seeds with equal spread). Fewer than 2 seeds on a side: not testable."

    public init(_ a: [Double], baseline b: [Double]) {
        let sa = Summary(a), sb = Summary(b)
        difference = (sa?.mean ?? .nan) - (sb?.mean ?? .nan)
        guard let sa, let sb, let da = sa.sd, let db = sb.sd else { return }
        let va = da * da / Double(sa.n), vb = db * db / Double(sb.n)
        let se = (va + vb).squareRoot()
        guard se > 0 else {
            exceedsSpread = difference != 0 ? true : false
            return
        }
        let tt = difference / se
        let df = (va + vb) * (va + vb) / (va * va / Double(sa.n - 1) + vb * vb / Double(sb.n - 1))
        let crit = Comparison.tCritical975(df)
        t = tt; degreesOfFreedom = df; critical = crit
        exceedsSpread = abs(tt) > crit
    }

    /// The 97.5 % quantile of Student's t with `df` degrees of freedom (linear in 1/df between table entries).
    public static func tCritical975(_ df: Double) -> Double {
        let table: [(Double, Double)] = [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365), (8, 2.306),
                                         (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131), (20, 2.086), (30, 2.042), (60, 2.000),
                                         (120, 1.980), (.infinity, 1.960)]
        guard df.isFinite else { return 1.960 }
        if df <= 1 { return 12.706 }
        for i in 1..<table.count where df <= table[i].0 {
            let (d0, t0) = table[i - 1], (d1, t1) = table[i]
            let x0 = 1 / d0, x1 = d1.isFinite ? 1 / d1 : 0, x = 1 / df
            return t0 + (t1 - t0) * (x - x0) / (x1 - x0)
        }
        return 1.960
    }
}
