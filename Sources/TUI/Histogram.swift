/// Vertical bars for bin counts over [lo, hi], with caller-supplied x labels and an optional
/// marker line (e.g. at π/2, where orthogonal kernels sit).
///
/// ```
///  │      ██
///  │      ██
///  │    ██████
///  │▄▄██████████▄▄
/// 0      π/2     π
/// ```
/// Bins are resampled to the width: merged bins add up (`Resample.bins`), and with fewer bins
/// than columns each bin is repeated. Bars have eighth-cell resolution (`#` cells in ASCII); a
/// non-zero count always shows at least the lowest step.
public struct Histogram: Sendable {
    public var counts: [Double]
    public var range: ClosedRange<Double>
    public var labels: [AxisLabel]
    public var marker: Double?
    public var role: ColorRole
    public var glyphs: GlyphSet
    public var emptyMessage: String
    /// The part of `range` to show, e.g. from `occupiedRange`: a distribution that is a spike
    /// two columns wide over 0…π becomes readable. Snapped outward to whole bins.
    public var view: ClosedRange<Double>?
    /// When set, the shown range's ends are printed at the axis ends in this format (e.g.
    /// `.degrees` for bins in radians) and the marker gets a label too.
    public var axisFormat: ValueFormat?

    public init(counts: [Double], range: ClosedRange<Double>, labels: [AxisLabel] = [], marker: Double? = nil,
                role: ColorRole = .series(0), glyphs: GlyphSet = .unicode, emptyMessage: String = "no data yet",
                view: ClosedRange<Double>? = nil, axisFormat: ValueFormat? = nil) {
        self.counts = counts
        self.range = range
        self.labels = labels
        self.marker = marker
        self.role = role
        self.glyphs = glyphs
        self.emptyMessage = emptyMessage
        self.view = view
        self.axisFormat = axisFormat
    }

    /// The range holding the middle of the mass — from the `tail` quantile to the `1 - tail`
    /// quantile (interpolated inside bins) — widened by `margin` × its width and at least one bin
    /// on each side, clipped to `range`. Nil when there is no positive count.
    public static func occupiedRange(counts: [Double], range: ClosedRange<Double>, tail: Double = 0.01,
                                     margin: Double = 0.1) -> ClosedRange<Double>? {
        let clean = counts.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        let total = clean.reduce(0, +)
        let span = range.upperBound - range.lowerBound
        guard total > 0, span > 0, span.isFinite else { return nil }
        let width = span / Double(clean.count)
        func quantile(_ q: Double) -> Double {
            let target = q * total
            var cumulative = 0.0
            for (i, c) in clean.enumerated() where c > 0 {
                if cumulative + c >= target {
                    let fraction = min(max((target - cumulative) / c, 0), 1)
                    return range.lowerBound + (Double(i) + fraction) * width
                }
                cumulative += c
            }
            return range.upperBound
        }
        let t = min(max(tail, 0), 0.49)
        let lo = quantile(t), hi = quantile(1 - t)
        let pad = max((hi - lo) * max(margin, 0), width)
        return max(range.lowerBound, lo - pad)...min(range.upperBound, hi + pad)
    }

    /// The bins and range actually drawn: all of them, or those overlapping `view`.
    func shown() -> (counts: [Double], range: ClosedRange<Double>) {
        let span = range.upperBound - range.lowerBound
        guard let view, !counts.isEmpty, span > 0, span.isFinite,
              view.lowerBound.isFinite, view.upperBound.isFinite else { return (counts, range) }
        let width = span / Double(counts.count)
        let first = Int(clamping: ((view.lowerBound - range.lowerBound) / width + 1e-9).rounded(.down), to: 0...(counts.count - 1))
        let last = Int(clamping: ((view.upperBound - range.lowerBound) / width - 1e-9).rounded(.up) - 1, to: first...(counts.count - 1))
        return (Array(counts[first...last]),
                (range.lowerBound + Double(first) * width)...(range.lowerBound + Double(last + 1) * width))
    }

    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let (counts, range) = shown()
        let hasLabels = (!labels.isEmpty || axisFormat != nil) && rect.height >= 2
        let bars = hasLabels ? rect.inset(bottom: 1) : rect
        if hasLabels {
            if let axisFormat {
                drawEnds(into: &grid, row: bars.maxY, x: rect.x, width: rect.width, range: range, format: axisFormat)
            } else {
                AxisLabel.draw(labels, into: &grid, row: bars.maxY, x: rect.x, width: rect.width, range: range)
            }
        }

        let columns = Resample.bins(counts, to: bars.width, merge: .sum)
        let peak = columns.max() ?? 0
        guard peak > 0 else {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: bars)
            return
        }
        let style = Style(role)
        for (i, value) in columns.enumerated() where value > 0 {
            let x = bars.x + i
            if glyphs == .unicode {
                let level = max(1, Int((value / peak * Double(bars.height * 8)).rounded()))
                for step in 0..<bars.height {
                    let filled = min(8, level - step * 8)
                    if filled <= 0 { break }
                    grid.set(Histogram.eighths[filled], x: x, y: bars.maxY - 1 - step, style: style)
                }
            } else {
                let level = max(1, Int((value / peak * Double(bars.height)).rounded()))
                for step in 0..<level { grid.set("#", x: x, y: bars.maxY - 1 - step, style: style) }
            }
        }
        drawMarker(into: &grid, bars: bars, range: range)
    }

    /// The range's ends at the axis ends and the marker's value under its column, when it fits.
    private func drawEnds(into grid: inout CellGrid, row: Int, x: Int, width: Int, range: ClosedRange<Double>,
                          format: ValueFormat) {
        let step = AxisTicks.niceStep(span: range.upperBound - range.lowerBound, maxTicks: 6) / 2
        let left = format.tick(range.lowerBound, step: step, glyphs: glyphs)
        let right = format.tick(range.upperBound, step: step, glyphs: glyphs)
        let clip = Rect(x: x, y: row, width: width, height: 1)
        guard left.count + 1 + right.count <= width else {
            grid.put(left, x: x, y: row, style: Style(.axis), clip: clip)
            return
        }
        grid.put(left, x: x, y: row, style: Style(.axis), clip: clip)
        grid.put(right, x: x + width - right.count, y: row, style: Style(.axis), clip: clip)
        if let marker, let column = AxisLabel.column(of: marker, range: range, width: width) {
            let text = format.tick(marker, step: step, glyphs: glyphs)
            let start = x + column - text.count / 2
            if start > x + left.count, start + text.count < x + width - right.count {
                grid.put(text, x: start, y: row, style: Style(.accent), clip: clip)
            }
        }
    }

    private func drawMarker(into grid: inout CellGrid, bars: Rect, range: ClosedRange<Double>) {
        if let marker, let column = AxisLabel.column(of: marker, range: range, width: bars.width) {
            let line: Character = glyphs == .unicode ? "│" : "|"
            for y in bars.y..<bars.maxY where grid.characterAt(x: bars.x + column, y: y) == " " {
                grid.set(line, x: bars.x + column, y: y, style: Style(.accent))
            }
        }
    }
}
