/// How a chart writes a value: the same number reads as a loss, an accuracy, an angle or a
/// wall-clock time. Widgets take one of these instead of a closure so they stay `Sendable`
/// values that tests can compare.
public enum ValueFormat: Equatable, Sendable {
    /// `NumberFormat.compact`: `0.412`, `1.5k`, `2e-4`.
    case number
    /// A fraction shown as a percentage: 0.912 → `91.2%`.
    case percent
    /// An angle given in radians shown in degrees: π/2 → `90°` (`90d` in ASCII).
    case degrees
    /// Seconds shown as a duration: `45s`, `3:20`, `1:02:03`.
    case duration

    /// A reading of one value (legends, tables): three significant digits or the unit's habit.
    public func readout(_ value: Double, glyphs: GlyphSet = .unicode) -> String {
        guard value.isFinite else { return NumberFormat.compact(value) }
        switch self {
        case .number: return NumberFormat.compact(value)
        case .percent: return NumberFormat.fixed(value * 100, decimals: 1) + "%"
        case .degrees: return NumberFormat.fixed(value * 180 / Double.pi, decimals: 1) + ValueFormat.degreeSign(glyphs)
        case .duration: return NumberFormat.duration(value)
        }
    }

    /// A tick label on an axis whose ticks are `step` apart (both in the value's own unit).
    public func tick(_ value: Double, step: Double, glyphs: GlyphSet = .unicode) -> String {
        switch self {
        case .number: return NumberFormat.compact(value, step: step)
        case .percent: return NumberFormat.compact(value * 100, step: step * 100) + "%"
        case .degrees:
            let degrees = 180 / Double.pi
            return NumberFormat.compact(value * degrees, step: step * degrees) + ValueFormat.degreeSign(glyphs)
        case .duration: return NumberFormat.duration(value, step: step)
        }
    }

    static func degreeSign(_ glyphs: GlyphSet) -> String { glyphs == .unicode ? "°" : "d" }
}

extension NumberFormat {
    /// Wall-clock seconds as `45s`, `3:20` or `1:02:03`. With a `step` (axis ticks) of a minute or
    /// more, whole minutes are written `m:ss` even below a minute (`0:00`) so ticks line up.
    /// Fractions of a second are dropped; negative values get a minus sign.
    public static func duration(_ seconds: Double, step: Double? = nil) -> String {
        guard seconds.isFinite else { return compact(seconds) }
        let total = Int(clamping: abs(seconds).rounded(), to: 0...Int(Int32.max))
        let sign = seconds < 0 && total > 0 ? "-" : ""
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if h > 0 { return "\(sign)\(h):\(two(m)):\(two(s))" }
        if total >= 60 || (step ?? 0) >= 60 { return "\(sign)\(m):\(two(s))" }
        return "\(sign)\(s)s"
    }
}
