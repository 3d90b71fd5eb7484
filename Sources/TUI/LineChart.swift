/// One (x, y) sample of a chart series.
public struct ChartPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// A named line in a `LineChart`.
public struct ChartSeries: Equatable, Sendable {
    public var label: String
    public var role: ColorRole
    public var points: [ChartPoint]

    public init(label: String, role: ColorRole, points: [ChartPoint]) {
        self.label = label
        self.role = role
        self.points = points
    }

    public init(label: String, role: ColorRole, xy: [(x: Double, y: Double)]) {
        self.init(label: label, role: role, points: xy.map { ChartPoint(x: $0.x, y: $0.y) })
    }
}

/// Several series over a shared x axis (training steps) with a labelled y axis and a legend.
///
/// ```
/// ── loss
///   1┤⠑⠢⢄⡀
///    │   ⠈⠑⠢⢄⡀
/// 0.5┤       ⠈⠑⠢⠤⣀
///    │            ⠉⠒⠤⣀
///   0┤                ⠉⠒⠤⣀
///    └0                 1k
/// ```
/// Braille mode plots 2 × 4 dots per cell; ASCII mode one marker per cell. With more points
/// than dot columns, each column draws the span from the lowest to the highest point that falls
/// in it, so a spike is never dropped. NaN and ±∞ points are skipped (and counted in the legend).
/// Values outside a fixed `yRange` are pinned to its edge.
public struct LineChart: Sendable {
    public var series: [ChartSeries]
    /// Fixed y range; nil widens the data range to nice round ticks.
    public var yRange: ClosedRange<Double>?
    /// Fixed x range; nil uses the data's first to last x.
    public var xRange: ClosedRange<Double>?
    public var glyphs: GlyphSet
    public var showLegend: Bool
    /// X values are step counts: tick steps are whole numbers.
    public var integerX: Bool
    /// Shown when no series has any point.
    public var emptyMessage: String

    public init(series: [ChartSeries], yRange: ClosedRange<Double>? = nil, xRange: ClosedRange<Double>? = nil,
                glyphs: GlyphSet = .unicode, showLegend: Bool = true, integerX: Bool = true,
                emptyMessage: String = "no data yet") {
        self.series = series
        self.yRange = yRange
        self.xRange = xRange
        self.glyphs = glyphs
        self.showLegend = showLegend
        self.integerX = integerX
        self.emptyMessage = emptyMessage
    }

    /// ASCII markers per series (index modulo count).
    static let asciiMarkers: [Character] = ["*", "o", "+", "x", "#", "@"]

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        var total = 0, skipped = 0
        var xLo = Double.infinity, xHi = -Double.infinity, yLo = Double.infinity, yHi = -Double.infinity
        for s in series {
            for p in s.points {
                total += 1
                guard p.x.isFinite, p.y.isFinite else { skipped += 1; continue }
                xLo = min(xLo, p.x); xHi = max(xHi, p.x)
                yLo = min(yLo, p.y); yHi = max(yHi, p.y)
            }
        }
        if total == 0 {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }
        if total == skipped {
            Notice(lines: ["no finite values (\(skipped) skipped)"], role: .warn, glyphs: glyphs)
                .render(into: &grid, in: rect)
            return
        }

        var body = rect
        if showLegend && rect.height >= 4 {
            drawLegend(into: &grid, row: Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), skipped: skipped)
            body = rect.inset(top: 1)
        }

        let plotHeight = body.height - 1
        let maxYTicks = min(5, max(2, (plotHeight + 1) / 2))
        let yScale = yRange.map { AxisTicks.fixed(lo: $0.lowerBound, hi: $0.upperBound, maxTicks: maxYTicks) }
            ?? AxisTicks.auto(lo: yLo, hi: yHi, maxTicks: maxYTicks)
        let yLabels = yScale.labels
        let labelWidth = yLabels.map(\.count).max() ?? 0
        let plot = Rect(x: body.x + labelWidth + 1, y: body.y, width: body.width - labelWidth - 1, height: plotHeight)
        guard plot.height >= 1, plot.width >= 2 else {
            grid.putTruncated("too small", x: rect.x, y: rect.y, maxWidth: rect.width, style: Style(.dim),
                              glyphs: glyphs)
            return
        }

        var canvas = DotCanvas(columns: plot.width, rows: plot.height, glyphs: glyphs)
        let xs = xRange.map { AxisTicks.openRange(lo: $0.lowerBound, hi: $0.upperBound) }
            ?? (xLo < xHi ? (xLo, xHi) : (xLo, xLo + max(1, abs(xLo) * 1e-6)))  // one x: at the left edge
        // Points left or right of a fixed x range map to -1 or dotWidth and are skipped;
        // values beyond a fixed y range are pinned to its edge.
        let dotX = { [dotWidth = canvas.dotWidth] (x: Double) -> Int in
            Int(clamping: ((x - xs.0) / (xs.1 - xs.0) * Double(dotWidth - 1)).rounded(), to: -1...dotWidth)
        }
        let dotY = { [dotHeight = canvas.dotHeight] (y: Double) -> Int in
            let t = (yScale.hi - y) / (yScale.hi - yScale.lo) * Double(dotHeight - 1)
            return Int(clamping: t.rounded(), to: 0...(dotHeight - 1))
        }
        for (index, s) in series.enumerated() {
            plotSeries(s, index: index, on: &canvas, dotX: dotX, dotY: dotY)
        }

        drawYAxis(into: &grid, plot: plot, scale: yScale, labels: yLabels, labelWidth: labelWidth, dotY: dotY,
                  dotsDown: canvas.dotsDown)
        drawXAxis(into: &grid, plot: plot, lo: xs.0, hi: xs.1, dotX: dotX, dotsAcross: canvas.dotsAcross)

        for row in 0..<plot.height {
            for column in 0..<plot.width {
                let cell = row * plot.width + column
                let bits = canvas.bits[cell]
                guard bits != 0 else { continue }
                let owner = canvas.owner[cell]
                let character = glyphs == .unicode
                    ? Braille.character(bits)
                    : LineChart.asciiMarkers[owner % LineChart.asciiMarkers.count]
                grid.set(character, x: plot.x + column, y: plot.y + row, style: Style(series[owner].role))
            }
        }
    }

    /// Per dot column: the span of all points in it, joined to the previous column by a line
    /// from that column's last point to this column's first.
    private func plotSeries(_ s: ChartSeries, index: Int, on canvas: inout DotCanvas,
                            dotX: (Double) -> Int, dotY: (Double) -> Int) {
        let width = canvas.dotWidth
        var low = [Int](repeating: Int.max, count: width), high = [Int](repeating: Int.min, count: width)
        var first = [Int](repeating: 0, count: width), last = [Int](repeating: 0, count: width)
        for p in s.points where p.x.isFinite && p.y.isFinite {
            let x = dotX(p.x)
            guard x >= 0, x < width else { continue }
            let y = dotY(p.y)
            if low[x] == Int.max { first[x] = y }
            low[x] = min(low[x], y); high[x] = max(high[x], y); last[x] = y
        }
        var previous: Int?
        for x in 0..<width where low[x] != Int.max {
            canvas.verticalSpan(x, low[x], high[x], series: index)
            if let p = previous { canvas.line(from: (p, last[p]), to: (x, first[x]), series: index) }
            previous = x
        }
    }

    private func drawLegend(into grid: inout CellGrid, row: Rect, skipped: Int) {
        var x = row.x
        for (index, s) in series.enumerated() {
            let marker = glyphs == .unicode ? "──" : String(repeating: LineChart.asciiMarkers[index % LineChart.asciiMarkers.count], count: 2)
            let needed = marker.count + 1 + s.label.count
            guard x + needed <= row.maxX else { break }
            x = grid.put(marker, x: x, y: row.y, style: Style(s.role, bold: true), clip: row)
            x = grid.put(" " + s.label, x: x, y: row.y, style: Style(.label), clip: row) + 2
        }
        if skipped > 0 {
            let note = "(\(skipped) non-finite skipped)"
            if x + note.count <= row.maxX { grid.put(note, x: x, y: row.y, style: Style(.warn), clip: row) }
        }
    }

    private func drawYAxis(into grid: inout CellGrid, plot: Rect, scale: AxisScale, labels: [String],
                           labelWidth: Int, dotY: (Double) -> Int, dotsDown: Int) {
        let box = BoxGlyphs(glyphs)
        let axisX = plot.x - 1
        for y in plot.y..<plot.maxY { grid.set(box.vertical, x: axisX, y: y, style: Style(.axis)) }
        grid.set(box.bottomLeft, x: axisX, y: plot.maxY, style: Style(.axis))
        var usedRow = Int.min
        // Top tick first so that, when two ticks share a row, the larger value is kept.
        for (tick, label) in zip(scale.ticks, labels).reversed() {
            let row = plot.y + dotY(tick) / dotsDown
            guard row != usedRow, row >= plot.y, row < plot.maxY else { continue }
            usedRow = row
            grid.set(box.tickLeft, x: axisX, y: row, style: Style(.axis))
            grid.put(label, x: axisX - label.count, y: row, style: Style(.axis))
        }
    }

    private func drawXAxis(into grid: inout CellGrid, plot: Rect, lo: Double, hi: Double,
                           dotX: (Double) -> Int, dotsAcross: Int) {
        let maxTicks = max(2, plot.width / 8)
        let scale = AxisTicks.fixed(lo: lo, hi: hi, maxTicks: maxTicks, minimumStep: integerX ? 1 : 0)
        let row = plot.maxY
        var lastEnd = plot.x - 1  // the axis corner
        for (tick, label) in zip(scale.ticks, scale.labels) {
            let column = plot.x + dotX(tick) / dotsAcross
            let start = min(max(column - label.count / 2, plot.x), plot.maxX - label.count)
            guard start > lastEnd, start >= plot.x else { continue }
            grid.put(label, x: start, y: row, style: Style(.axis))
            lastEnd = start + label.count
        }
    }
}
