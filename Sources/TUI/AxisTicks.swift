#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear axis: its value range, the distance between ticks and the tick values.
public struct AxisScale: Equatable, Sendable {
    public var lo: Double
    public var hi: Double
    public var step: Double
    public var ticks: [Double]

    /// Tick labels in `NumberFormat.compact` style, all with the precision the step needs.
    public var labels: [String] { ticks.map { NumberFormat.compact($0, step: step) } }
}

/// "Nice" tick steps (1, 2 or 5 × 10ⁿ) so axis labels read as round numbers.
public enum AxisTicks {
    /// The smallest nice step that covers `span` in at most `maxTicks - 1` intervals.
    public static func niceStep(span: Double, maxTicks: Int) -> Double {
        let intervals = Double(max(1, maxTicks - 1))
        guard span.isFinite, span > 0 else { return 1 }
        let raw = span / intervals
        let magnitude = NumberFormat.pow10(Int(floor(log10(raw))))
        let normalised = raw / magnitude
        let nice: Double = normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// The next nice step above `step` (1 → 2 → 5 → 10 …).
    static func nextStep(after step: Double) -> Double {
        let magnitude = NumberFormat.pow10(Int(floor(log10(step) + 1e-9)))
        let normalised = (step / magnitude).rounded()
        return (normalised < 2 ? 2 : normalised < 5 ? 5 : 10) * magnitude
    }

    /// For an automatic range: widens [lo, hi] outward to multiples of a nice step so the first
    /// and last ticks sit on the range ends, using at most `maxTicks` ticks. At least 3 are
    /// allowed: a range around 0 such as [-1, 1] cannot be covered by two multiples of a step.
    /// A zero-width range is opened around its value; non-finite input gives [0, 1].
    public static func auto(lo: Double, hi: Double, maxTicks: Int) -> AxisScale {
        let (a, b) = openRange(lo: lo, hi: hi)
        let limit = max(3, maxTicks)
        var step = niceStep(span: b - a, maxTicks: limit)
        // Terminates: once the step reaches the span, the widened range holds at most 3 ticks.
        while true {
            let first = floor(a / step + 1e-9), last = ceil(b / step - 1e-9)
            let count = Int(clamping: last - first, to: -1...1_000_000) + 1
            if count <= limit || !step.isFinite {
                let ticks = (0..<max(count, 0)).map { (first + Double($0)) * step }
                return AxisScale(lo: first * step, hi: last * step, step: step, ticks: ticks)
            }
            step = nextStep(after: step)
        }
    }

    /// For a fixed range: keeps [lo, hi] and places at most `maxTicks` (≥ 2) ticks at the
    /// multiples of a nice step inside it (once the step exceeds the span, at most 2 remain).
    public static func fixed(lo: Double, hi: Double, maxTicks: Int, minimumStep: Double = 0) -> AxisScale {
        let (a, b) = openRange(lo: lo, hi: hi)
        let limit = max(2, maxTicks)
        var step = max(niceStep(span: b - a, maxTicks: limit), minimumStep)
        while true {
            let first = ceil(a / step - 1e-9), last = floor(b / step + 1e-9)
            let count = Int(clamping: last - first, to: -1...1_000_000) + 1
            if count <= limit || !step.isFinite {
                let ticks = (0..<max(count, 0)).map { (first + Double($0)) * step }
                return AxisScale(lo: a, hi: b, step: step, ticks: ticks)
            }
            step = nextStep(after: step)
        }
    }

    /// A usable range: finite, increasing, non-empty (a single value v becomes v ± 10 %, or ±1 at 0).
    /// Ends are kept within ±1e300 and widths above 1e-200 so that spans, steps and tick counts
    /// stay finite.
    static func openRange(lo: Double, hi: Double) -> (Double, Double) {
        guard lo.isFinite, hi.isFinite else { return (0, 1) }
        let limit = 1e300
        let a = min(max(min(lo, hi), -limit), limit), b = min(max(max(lo, hi), -limit), limit)
        if b - a > max(abs(a), abs(b)) * 1e-12 && b - a > 1e-200 { return (a, b) }
        let pad = a == 0 ? 1 : max(abs(a) * 0.1, 1e-200)
        return (a - pad, b + pad)
    }
}
