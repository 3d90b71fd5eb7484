/// The 10th, 25th, 50th, 75th and 90th percentiles of a distribution at one time.
public struct Percentiles: Equatable, Sendable {
    public var p10: Double
    public var p25: Double
    public var p50: Double
    public var p75: Double
    public var p90: Double

    public init(p10: Double, p25: Double, p50: Double, p75: Double, p90: Double) {
        (self.p10, self.p25, self.p50, self.p75, self.p90) = (p10, p25, p50, p75, p90)
    }

    var isFinite: Bool { [p10, p25, p50, p75, p90].allSatisfy(\.isFinite) }
}

/// Percentile bands over time: the 10–90 band light (`░`), the 25–75 band darker (`▒`) and the
/// median as a line (`━`), over a y range the caller fixes (e.g. [0, π] for angles).
///
/// ```
/// 3│
///  │░░░░░░━━
///  │▒━━━━━▒▒
///  │━▒▒▒▒▒▒▒
///  │░░░░░░░░
/// 0│
/// ```
/// A band shows in a cell when it covers at least half of the cell; the median's cell always
/// shows the median, so even a very narrow distribution stays visible as its median line.
/// Time is compressed like `HeatStrip` (percentiles averaged per column).
/// ASCII: `.` outer band, `#` inner band, `=` median.
public struct BandChart: Sendable {
    public var samples: [Percentiles]
    public var yRange: ClosedRange<Double>
    /// Labels on the left edge, e.g. 0, π/2, π.
    public var yLabels: [AxisLabel]
    public var bandRole: ColorRole
    public var medianRole: ColorRole
    public var glyphs: GlyphSet
    public var emptyMessage: String
    /// The x value (step or seconds) of each sample; when given (same count as `samples`), the
    /// bottom row becomes an x axis.
    public var steps: [Double]
    public var xFormat: ValueFormat
    /// When set, the y range zooms to the samples' 10–90 range (within `yRange`, with a small
    /// margin) and tick labels are written in this format (e.g. `.degrees`), replacing `yLabels`.
    public var zoomFormat: ValueFormat?

    public init(samples: [Percentiles], yRange: ClosedRange<Double>, yLabels: [AxisLabel] = [],
                bandRole: ColorRole = .series(0), medianRole: ColorRole = .accent, glyphs: GlyphSet = .unicode,
                emptyMessage: String = "no data yet", steps: [Double] = [], xFormat: ValueFormat = .number,
                zoomFormat: ValueFormat? = nil) {
        self.samples = samples
        self.yRange = yRange
        self.yLabels = yLabels
        self.bandRole = bandRole
        self.medianRole = medianRole
        self.glyphs = glyphs
        self.emptyMessage = glyphs.text(emptyMessage)
        self.steps = steps
        self.xFormat = xFormat
        self.zoomFormat = zoomFormat
    }

    /// The y range and labels in effect: the fixed ones, or the data's zoomed range with ticks
    /// at round values of the zoom format's unit (whole degrees rather than radians).
    func axis(rows: Int) -> (range: ClosedRange<Double>, labels: [AxisLabel]) {
        guard let zoomFormat else { return (yRange, yLabels) }
        let finite = samples.filter(\.isFinite)
        guard let lo = finite.map({ min($0.p10, $0.p50) }).min(), let hi = finite.map({ max($0.p90, $0.p50) }).max()
        else { return (yRange, []) }
        let unit = zoomFormat == .degrees ? 180 / Double.pi : zoomFormat == .percent ? 100 : 1
        let pad = max((hi - lo) * 0.1, (yRange.upperBound - yRange.lowerBound) * 0.005)
        let (a, b) = AxisTicks.openRange(lo: max(yRange.lowerBound, lo - pad) * unit,
                                         hi: min(yRange.upperBound, hi + pad) * unit)
        let scale = AxisTicks.fixed(lo: a, hi: b, maxTicks: max(2, min(5, (rows + 1) / 2)))
        let labels = zip(scale.ticks, scale.labels).map { tick, text in
            AxisLabel(tick / unit, text + (zoomFormat == .degrees ? ValueFormat.degreeSign(glyphs) : zoomFormat == .percent ? "%" : ""))
        }
        return ((a / unit)...(b / unit), labels)
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let hasXAxis = !steps.isEmpty && steps.count == samples.count && rect.height >= 3
        let (yRange, yLabels) = axis(rows: rect.height - (hasXAxis ? 1 : 0))
        let labelWidth = yLabels.map(\.text.count).max() ?? 0
        let axis = labelWidth > 0 ? 1 : 0
        let plot = rect.inset(left: labelWidth + axis, bottom: hasXAxis ? 1 : 0)
        guard plot.width >= 1 else { return }
        if labelWidth > 0 { drawAxis(into: &grid, plot: plot, yRange: yRange, yLabels: yLabels) }
        if hasXAxis, let first = steps.first, let last = steps.last {
            StepAxis.draw(into: &grid, row: plot.maxY, x: plot.x, width: plot.width,
                          columns: min(samples.count, plot.width), first: first, last: last, format: xFormat,
                          glyphs: glyphs)
        }

        let span = yRange.upperBound - yRange.lowerBound
        guard !samples.isEmpty, span > 0, span.isFinite else {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: plot)
            return
        }
        let (outer, inner, median): (Character, Character, Character) =
            glyphs == .unicode ? ("░", "▒", "━") : (".", "#", "=")
        let cellHeight = span / Double(plot.height)
        for (c, group) in Resample.groups(sampleCount: samples.count, columns: plot.width).enumerated() {
            let finite = group.map { samples[$0] }.filter(\.isFinite)
            guard !finite.isEmpty else { continue }
            let n = Double(finite.count)
            func mean(_ key: KeyPath<Percentiles, Double>) -> Double { finite.reduce(0) { $0 + $1[keyPath: key] } / n }
            let p = Percentiles(p10: mean(\.p10), p25: mean(\.p25), p50: mean(\.p50), p75: mean(\.p75), p90: mean(\.p90))
            let medianRow = Int(clamping: (yRange.upperBound - p.p50) / cellHeight, to: 0...(plot.height - 1))
            for row in 0..<plot.height {
                let top = yRange.upperBound - Double(row) * cellHeight
                let bottom = top - cellHeight
                let x = plot.x + c, y = plot.y + row
                if row == medianRow {
                    grid.set(median, x: x, y: y, style: Style(medianRole, bold: true))
                } else if BandChart.covers(lo: p.p25, hi: p.p75, cellBottom: bottom, cellTop: top) {
                    grid.set(inner, x: x, y: y, style: Style(bandRole))
                } else if BandChart.covers(lo: p.p10, hi: p.p90, cellBottom: bottom, cellTop: top) {
                    grid.set(outer, x: x, y: y, style: Style(bandRole))
                }
            }
        }
    }

    /// Whether the band [lo, hi] fills at least half of the cell [cellBottom, cellTop].
    static func covers(lo: Double, hi: Double, cellBottom: Double, cellTop: Double) -> Bool {
        min(max(lo, hi), cellTop) - max(min(lo, hi), cellBottom) >= (cellTop - cellBottom) / 2
    }

    private func drawAxis(into grid: inout CellGrid, plot: Rect, yRange: ClosedRange<Double>, yLabels: [AxisLabel]) {
        let axisX = plot.x - 1
        let line: Character = glyphs == .unicode ? "│" : "|"
        for y in plot.y..<plot.maxY { grid.set(line, x: axisX, y: y, style: Style(.axis)) }
        let span = yRange.upperBound - yRange.lowerBound
        guard span > 0 else { return }
        for label in yLabels where yRange.contains(label.value) {
            // Same row mapping as the plot: the top row holds the upper bound, the bottom the lower.
            let row = min(plot.height - 1, Int((yRange.upperBound - label.value) / span * Double(plot.height)))
            grid.put(label.text, x: axisX - label.text.count, y: plot.y + row, style: Style(.axis))
        }
    }
}
