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
    /// The axis is log10 of the values: `lo`, `hi` and `ticks` are exponents (0 for 1, -3 for 1e-3).
    public var logarithmic: Bool = false

    /// Tick labels in `NumberFormat.compact` style, all with the precision the step needs
    /// (for a logarithmic axis, the values 10^tick with three significant digits).
    public var labels: [String] { labels(format: .number) }

    /// Tick labels in a given format, e.g. `.duration` for wall-clock seconds.
    public func labels(format: ValueFormat, glyphs: GlyphSet = .unicode) -> [String] {
        if logarithmic { return ticks.map { format.readout(NumberFormat.pow10Real($0), glyphs: glyphs) } }
        return ticks.map { format.tick($0, step: step, glyphs: glyphs) }
    }
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

    /// Steps that read well on a clock: seconds, minutes and hours in 1-2-5-ish multiples.
    static let durationSteps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                                          3600, 7200, 10800, 21600, 43200, 86400]

    /// For a fixed range of wall-clock seconds: at most `maxTicks` ticks at multiples of a clock
    /// step (15 s, 5 min, 1 h, …) so that labels read `0:30`, `1:00` rather than `50`, `100`.
    public static func duration(lo: Double, hi: Double, maxTicks: Int) -> AxisScale {
        let (a, b) = openRange(lo: lo, hi: hi)
        let limit = max(2, maxTicks)
        let clock = durationSteps.first { step in
            let count = floor(b / step + 1e-9) - ceil(a / step - 1e-9) + 1
            return count <= Double(limit)
        }
        guard let step = clock else {  // beyond days: plain nice steps of seconds
            return fixed(lo: a, hi: b, maxTicks: limit, minimumStep: 86400)
        }
        let first = ceil(a / step - 1e-9), last = floor(b / step + 1e-9)
        let count = max(0, Int(clamping: last - first, to: -1...1_000_000) + 1)
        return AxisScale(lo: a, hi: b, step: step, ticks: (0..<count).map { (first + Double($0)) * step })
    }

    /// A logarithmic axis over the positive range [lo, hi] (values, not exponents): widened to
    /// whole decades with a tick per decade (every k-th decade when there are many); a range
    /// within about one decade is widened to 1-2-5 values and ticked at them instead, so a
    /// loss between 0.2 and 0.5 still gets labels. Non-positive or non-finite input gives 1…10.
    public static func log(lo: Double, hi: Double, maxTicks: Int) -> AxisScale {
        guard lo.isFinite, hi.isFinite, lo > 0, hi > 0 else {
            return AxisScale(lo: 0, hi: 1, step: 1, ticks: [0, 1], logarithmic: true)
        }
        let limit = max(2, maxTicks)
        let a = log10(min(lo, hi)), b = log10(max(lo, hi))
        let firstDecade = floor(a + 1e-9), lastDecade = ceil(b - 1e-9)
        if lastDecade - firstDecade >= 2 || (lastDecade - firstDecade == 1 && limit <= 2) {
            var every = 1.0
            while (lastDecade - firstDecade) / every + 1 > Double(limit) { every += 1 }
            let first = floor(firstDecade / every) * every, last = ceil(lastDecade / every) * every
            let count = Int((last - first) / every) + 1
            return AxisScale(lo: first, hi: last, step: every, ticks: (0..<count).map { first + Double($0) * every },
                             logarithmic: true)
        }
        // Within a decade or two: 1-2-5 multiples of each decade that cover [lo, hi].
        var candidates: [Double] = []
        for decade in Int(firstDecade) - 1...Int(lastDecade) {
            for m in [1.0, 2, 5] { candidates.append(log10(m) + Double(decade)) }
        }
        let below = candidates.last { $0 <= a + 1e-9 } ?? a
        let above = candidates.first { $0 >= b - 1e-9 } ?? b
        var ticks = candidates.filter { $0 >= below - 1e-9 && $0 <= above + 1e-9 }
        if ticks.count > limit { ticks = ticks.filter { abs($0 - $0.rounded()) < 1e-9 || $0 == ticks.first || $0 == ticks.last } }
        if ticks.count > limit { ticks = [ticks[0], ticks[ticks.count - 1]] }
        let (l, h) = below < above ? (below, above) : (below - 0.5, above + 0.5)
        return AxisScale(lo: l, hi: h, step: 1, ticks: ticks, logarithmic: true)
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
