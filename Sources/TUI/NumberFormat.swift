#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Short number labels for chart axes: `0.5`, `1e-3`, `12k`, `1.5M`.
/// Written without Foundation so it is cheap to call every frame.
public enum NumberFormat {
    /// A compact label for `value` on an axis whose ticks are `step` apart: enough decimals to
    /// tell neighbouring ticks apart, no more. Without a step, three significant digits.
    ///
    /// - magnitude ≥ 1000: suffixes k, M, G, T (`1500` → `1.5k`, `12000` → `12k`);
    /// - magnitude < 0.01 or ≥ 1e15: mantissa and exponent (`0.001` → `1e-3`, `2.5e-4`);
    /// - otherwise a plain decimal with trailing zeros removed (`0.50` → `0.5`, `2.0` → `2`).
    public static func compact(_ value: Double, step: Double? = nil) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        let usableStep = step.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
        // Ticks computed as i * step can land at ±1e-17 instead of exactly 0.
        if let usableStep, abs(value) < usableStep * 1e-6 { return "0" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        let sign = value < 0 ? "-" : ""
        let resolution = usableStep ?? pow10(Int(floor(log10(magnitude))) - 2)

        if magnitude < 0.01 || magnitude >= 1e15 {
            var exponent = Int(floor(log10(magnitude)))
            let decimals = min(3, max(0, exponent - Int(floor(log10(resolution) + 1e-9))))
            var mantissa = magnitude / pow10(exponent)
            // Rounding may carry into the next power of ten (9.996e-4 → 10.00e-4).
            if roundedValue(mantissa, decimals: decimals) >= 10 { exponent += 1; mantissa /= 10 }
            return sign + fixed(mantissa, decimals: decimals, trimZeros: true) + "e\(exponent)"
        }
        if magnitude >= 1000 {
            let units: [(scale: Double, suffix: String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
            for (index, unit) in units.enumerated() where magnitude >= unit.scale * 0.9995 {
                let decimals = min(2, decimalsToShow(resolution / unit.scale))
                // 999.96k rounds to 1000k: say 1M instead.
                if roundedValue(magnitude / unit.scale, decimals: decimals) >= 1000, index > 0 {
                    let bigger = units[index - 1]
                    return sign + fixed(magnitude / bigger.scale, decimals: decimals, trimZeros: true) + bigger.suffix
                }
                return sign + fixed(magnitude / unit.scale, decimals: decimals, trimZeros: true) + unit.suffix
            }
        }
        return sign + fixed(magnitude, decimals: min(4, decimalsToShow(resolution)), trimZeros: true)
    }

    /// Decimals needed to write multiples of `resolution`: exact for steps such as 0.25,
    /// otherwise the position of the leading digit (three significant digits of 0.0123 → 4).
    static func decimalsToShow(_ resolution: Double) -> Int {
        for d in 0...4 {
            let scaled = resolution * pow10(d)
            if abs(scaled - scaled.rounded()) <= 1e-6 * scaled { return d }
        }
        return max(0, -Int(floor(log10(resolution) + 1e-9)))
    }

    /// `value` with exactly `decimals` digits after the point (or with trailing zeros removed).
    public static func fixed(_ value: Double, decimals: Int, trimZeros: Bool = false) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let d = min(max(decimals, 0), 9)
        let scale = pow10(d)
        let scaled = (abs(value) * scale).rounded()
        // Beyond 2^53 the digits are not exact anyway; Swift's own description is as good.
        guard scaled < 9e15 else { return value.description }
        let whole = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = String(whole / divisor)
        if d > 0 {
            var fraction = String(whole % divisor)
            fraction = String(repeating: "0", count: d - fraction.count) + fraction
            if trimZeros { while fraction.last == "0" { fraction.removeLast() } }
            if !fraction.isEmpty { text += "." + fraction }
        }
        return (value < 0 && whole != 0 ? "-" : "") + text
    }

    static func roundedValue(_ value: Double, decimals: Int) -> Double {
        let scale = pow10(decimals)
        return (value * scale).rounded() / scale
    }

    /// 10 to a real power (for logarithmic axes), exact at whole exponents.
    static func pow10Real(_ x: Double) -> Double {
        let whole = x.rounded()
        return abs(x - whole) < 1e-9 ? pow10(Int(clamping: whole, to: -400...400)) : pow(10, x)
    }

    static func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<min(abs(n), 400) { result *= 10 }
        return n >= 0 ? result : 1 / result
    }
}
