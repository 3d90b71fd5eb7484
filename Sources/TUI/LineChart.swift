#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Several series over a shared x axis (training steps or seconds) with a labelled y axis, a
/// legend with the latest numbers, and markers for the changes that happened along the way.
///
/// ```
/// ── loss 0.31 ≈0.34
///   1┤⠑⠢⢄⡀     │lr×2
///    │   ⠈⠑⠢⢄⡀ │
/// 0.5┤       ⠈⠑⠢⠤⣀
///    │         │  ⠉⠒⠤⣀
///   0┤         │      ⠉⠒⠤⣀
///    └0                 1k
/// ```
/// Braille mode plots 2 × 4 dots per cell; ASCII mode one marker per cell. With more points
/// than dot columns, each column draws the span from the lowest to the highest point that falls
/// in it (and each point's own `low`…`high` bucket span), so a spike is never dropped. NaN and
/// ±∞ points are skipped (and counted in the legend), as are values ≤ 0 on a log scale.
/// Values outside the y range are pinned to its edge and marked with an arrow (`▲`/`▼`, `^`/`v`)
/// at the top or bottom of their column.
public struct LineChart: Sendable {
    public var series: [ChartSeries]
    /// Fixed y range; nil fits the range to the visible data (see `yFit`).
    public var yRange: ClosedRange<Double>?
    /// Fixed x range, e.g. the last N steps; nil uses the data's first to last x. Only points
    /// inside it count for the fitted y range, so the axis follows the window.
    public var xRange: ClosedRange<Double>?
    public var glyphs: GlyphSet
    public var showLegend: Bool
    /// X values are step counts: tick steps are whole numbers.
    public var integerX: Bool
    /// Shown when no series has any point.
    public var emptyMessage: String
    /// Changes to mark with a rule and a label; those outside the x range are not drawn.
    public var markers: [ChartMarker]
    /// How a free y range is fitted: all visible data, or robustly ignoring a few outliers.
    public var yFit: YFit
    /// Logarithmic y axis (ticks at decades, or 1-2-5 within a decade).
    public var logY: Bool
    /// How x tick labels read: `.number` for steps, `.duration` for wall-clock seconds.
    public var xFormat: ValueFormat
    /// How y tick labels read, e.g. `.percent` for accuracy.
    public var yFormat: ValueFormat

    public init(series: [ChartSeries], yRange: ClosedRange<Double>? = nil, xRange: ClosedRange<Double>? = nil,
                glyphs: GlyphSet = .unicode, showLegend: Bool = true, integerX: Bool = true,
                emptyMessage: String = "no data yet", markers: [ChartMarker] = [], yFit: YFit = .data,
                logY: Bool = false, xFormat: ValueFormat = .number, yFormat: ValueFormat = .number) {
        // Labels spelled for the glyph set before anything is measured.
        self.series = glyphs == .unicode ? series : series.map { var s = $0; s.label = AsciiText.fold(s.label); return s }
        self.yRange = yRange
        self.xRange = xRange
        self.glyphs = glyphs
        self.showLegend = showLegend
        self.integerX = integerX
        self.emptyMessage = glyphs.text(emptyMessage)
        self.markers = glyphs == .unicode ? markers : markers.map { var m = $0; m.label = AsciiText.fold(m.label); return m }
        self.yFit = yFit
        self.logY = logY
        self.xFormat = xFormat
        self.yFormat = yFormat
    }

    /// ASCII markers per series (index modulo count).
    static let asciiMarkers: [Character] = ["*", "o", "+", "x", "#", "@"]

    /// A value in axis space (log10 on a log scale); nil for a value the axis cannot show.
    private func axisValue(_ v: Double) -> Double? {
        guard v.isFinite else { return nil }
        if logY { return v > 0 ? log10(v) : nil }
        return v
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        var total = 0, nonFinite = 0, nonPositive = 0
        var xLo = Double.infinity, xHi = -Double.infinity
        var all = (lo: Double.infinity, hi: -Double.infinity), window = all
        var windowValues: [Double] = []
        for s in series {
            for p in s.points {
                total += 1
                guard p.x.isFinite, p.y.isFinite else { nonFinite += 1; continue }
                guard let y = axisValue(p.y) else { nonPositive += 1; continue }
                xLo = min(xLo, p.x); xHi = max(xHi, p.x)
                var lo = y, hi = y
                if let l = p.low.flatMap(axisValue) { lo = min(lo, l) }
                if let h = p.high.flatMap(axisValue) { hi = max(hi, h) }
                all = (min(all.lo, lo), max(all.hi, hi))
                if xRange?.contains(p.x) ?? true {
                    window = (min(window.lo, lo), max(window.hi, hi))
                    windowValues.append(y)
                }
            }
        }
        if total == 0 {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }
        if total == nonFinite + nonPositive {
            let text = nonPositive > 0 ? "no positive values for a log scale (\(total) skipped)"
                : "no finite values (\(nonFinite) skipped)"
            Notice(lines: [text], role: .warn, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }

        var body = rect
        if showLegend && rect.height >= 4 {
            var notes: [String] = []
            if nonFinite > 0 { notes.append("\(nonFinite) non-finite") }
            if nonPositive > 0 { notes.append("\(nonPositive) \(glyphs == .unicode ? "≤" : "<=")0") }
            let note = notes.isEmpty ? nil : "(" + notes.joined(separator: ", ") + " skipped)"
            ChartLegend(series: series, glyphs: glyphs, note: note)
                .render(into: &grid, row: Rect(x: rect.x, y: rect.y, width: rect.width, height: 1))
            body = rect.inset(top: 1)
        }

        let plotHeight = body.height - 1
        let maxYTicks = min(5, max(2, (plotHeight + 1) / 2))
        let yScale = makeYScale(window: windowValues.isEmpty ? all : window, values: windowValues, maxTicks: maxYTicks)
        let yLabels = yScale.labels(format: yFormat, glyphs: glyphs)
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
        // Points left or right of a fixed x range map to -1 or dotWidth and are skipped.
        let dotX = { [dotWidth = canvas.dotWidth] (x: Double) -> Int in
            Int(clamping: ((x - xs.0) / (xs.1 - xs.0) * Double(dotWidth - 1)).rounded(), to: -1...dotWidth)
        }
        let mapping = YMapping(lo: yScale.lo, hi: yScale.hi, dotHeight: canvas.dotHeight)
        var marks = Marks(columns: plot.width)
        for (index, s) in series.enumerated() {
            plotSeries(s, index: index, on: &canvas, dotX: dotX, mapping: mapping, marks: &marks)
        }

        drawYAxis(into: &grid, plot: plot, scale: yScale, labels: yLabels, mapping: mapping, dotsDown: canvas.dotsDown)
        drawXAxis(into: &grid, plot: plot, lo: xs.0, hi: xs.1, dotX: dotX, dotsAcross: canvas.dotsAcross)

        for row in 0..<plot.height {
            for column in 0..<plot.width {
                let cell = row * plot.width + column
                let bits = canvas.bits[cell]
                guard bits != 0 else { continue }
                let owner = canvas.owner[cell]
                let character: Character
                if glyphs == .unicode {
                    character = Braille.character(bits)
                } else {
                    character = series[owner].style == .markers
                        ? "." : series[owner].asciiGlyph ?? LineChart.asciiMarkers[owner % LineChart.asciiMarkers.count]
                }
                grid.set(character, x: plot.x + column, y: plot.y + row, style: Style(series[owner].role))
            }
        }
        let pointGlyph: Character = glyphs == .unicode ? "●" : "O"
        for (cell, owner) in marks.points.sorted(by: { $0.key < $1.key }) {
            grid.set(pointGlyph, x: plot.x + cell % plot.width, y: plot.y + cell / plot.width,
                     style: Style(series[owner].role, bold: true))
        }
        let (up, down): (Character, Character) = glyphs == .unicode ? ("▲", "▼") : ("^", "v")
        for column in 0..<plot.width {
            if let owner = marks.clippedHigh[column] {
                grid.set(up, x: plot.x + column, y: plot.y, style: Style(series[owner].role, bold: true))
            }
            if let owner = marks.clippedLow[column] {
                grid.set(down, x: plot.x + column, y: plot.maxY - 1, style: Style(series[owner].role, bold: true))
            }
        }
        drawMarkers(into: &grid, plot: plot, canvas: canvas, xLo: xs.0, xHi: xs.1, dotX: dotX, pointCells: marks.points)
    }

    /// The y axis: a fixed range, or the visible data's range (robust if asked), widened to ticks.
    private func makeYScale(window: (lo: Double, hi: Double), values: [Double], maxTicks: Int) -> AxisScale {
        if let yRange {
            if logY {
                let lo = yRange.lowerBound > 0 ? yRange.lowerBound : NumberFormat.pow10Real(window.lo)
                return AxisTicks.log(lo: lo, hi: max(yRange.upperBound, lo), maxTicks: maxTicks)
            }
            return AxisTicks.fixed(lo: yRange.lowerBound, hi: yRange.upperBound, maxTicks: maxTicks)
        }
        var (lo, hi) = window
        if case .robust(let trim) = yFit, !values.isEmpty {
            let sorted = values.sorted()
            let k = Int(Double(sorted.count) * min(max(trim.isFinite ? trim : 0, 0), 0.49))
            (lo, hi) = (sorted[k], sorted[sorted.count - 1 - k])
        }
        if logY { return AxisTicks.log(lo: NumberFormat.pow10Real(lo), hi: NumberFormat.pow10Real(hi), maxTicks: maxTicks) }
        return AxisTicks.auto(lo: lo, hi: hi, maxTicks: maxTicks)
    }

    /// Maps axis values to dot rows (0 at the top) and says when a value lies beyond the range.
    struct YMapping {
        let lo: Double, hi: Double, dotHeight: Int
        func row(_ y: Double) -> (dot: Int, clip: Int) {
            let tolerance = (hi - lo) * 1e-9
            let clip = y > hi + tolerance ? 1 : y < lo - tolerance ? -1 : 0
            let t = (hi - y) / (hi - lo) * Double(dotHeight - 1)
            return (Int(clamping: t.rounded(), to: 0...(dotHeight - 1)), clip)
        }
    }

    /// What is drawn over the dots: marker-style points and clip arrows, by cell and column.
    struct Marks {
        var points: [Int: Int] = [:]  // cell index → series
        var clippedHigh: [Int?]
        var clippedLow: [Int?]
        init(columns: Int) {
            clippedHigh = [Int?](repeating: nil, count: columns)
            clippedLow = clippedHigh
        }
    }

    /// Per dot column: the span of all points in it (and their bucket spans), joined to the
    /// previous column by a line from that column's last point to this column's first.
    private func plotSeries(_ s: ChartSeries, index: Int, on canvas: inout DotCanvas, dotX: (Double) -> Int,
                            mapping: YMapping, marks: inout Marks) {
        let width = canvas.dotWidth
        var low = [Int](repeating: Int.max, count: width), high = [Int](repeating: Int.min, count: width)
        var first = [Int](repeating: 0, count: width), last = [Int](repeating: 0, count: width)
        for p in s.points where p.x.isFinite {
            guard let value = axisValue(p.y) else { continue }
            let x = dotX(p.x)
            guard x >= 0, x < width else { continue }
            let column = x / canvas.dotsAcross
            let (y, clip) = mapping.row(value)
            var top = y, bottom = y, clips = [clip]
            for extreme in [p.low, p.high] {
                guard let e = extreme.flatMap(axisValue) else { continue }
                let (row, c) = mapping.row(e)
                top = min(top, row); bottom = max(bottom, row); clips.append(c)
            }
            if clips.contains(1) { marks.clippedHigh[column] = index }
            if clips.contains(-1) { marks.clippedLow[column] = index }
            if low[x] == Int.max { first[x] = y }
            low[x] = min(low[x], top); high[x] = max(high[x], bottom); last[x] = y
            if s.style == .markers { marks.points[(y / canvas.dotsDown) * canvas.columns + column] = index }
        }
        var previous: Int?
        for x in 0..<width where low[x] != Int.max {
            canvas.verticalSpan(x, low[x], high[x], series: index)
            if let p = previous { canvas.line(from: (p, last[p]), to: (x, first[x]), series: index) }
            previous = x
        }
    }

    /// Change markers: a rule through the empty cells of the marker's column (data stays on
    /// top), and the labels on the top rows, staggered so none hides another.
    private func drawMarkers(into grid: inout CellGrid, plot: Rect, canvas: DotCanvas, xLo: Double, xHi: Double,
                             dotX: (Double) -> Int, pointCells: [Int: Int]) {
        var visible: [(marker: ChartMarker, column: Int)] = []
        for marker in markers {
            let dot = dotX(marker.x)
            // Strictly inside the x range: a marker just before it must not round onto column 0.
            guard marker.x.isFinite, marker.x >= xLo, marker.x <= xHi, dot >= 0, dot < canvas.dotWidth else { continue }
            visible.append((marker, dot / canvas.dotsAcross))
        }
        guard !visible.isEmpty else { return }
        let rule: Character = glyphs == .unicode ? "│" : "|"
        for (marker, column) in visible {
            for row in 0..<plot.height {
                let cell = row * plot.width + column
                guard canvas.bits[cell] == 0, pointCells[cell] == nil,
                      grid.characterAt(x: plot.x + column, y: plot.y + row) == " " else { continue }
                grid.set(rule, x: plot.x + column, y: plot.y + row, style: Style(marker.role))
            }
        }
        let lanes = plot.height >= 6 ? 2 : 1
        let placed = MarkerLabels.place(visible.map { ($0.column, $0.marker.label) }, width: plot.width,
                                        lanes: lanes, glyphs: glyphs)
        for (item, place) in zip(visible, placed) {
            guard let place else { continue }
            grid.put(place.text, x: plot.x + place.start, y: plot.y + place.lane,
                     style: Style(item.marker.role, bold: true), clip: plot)
        }
    }

    private func drawYAxis(into grid: inout CellGrid, plot: Rect, scale: AxisScale, labels: [String],
                           mapping: YMapping, dotsDown: Int) {
        let box = BoxGlyphs(glyphs)
        let axisX = plot.x - 1
        for y in plot.y..<plot.maxY { grid.set(box.vertical, x: axisX, y: y, style: Style(.axis)) }
        grid.set(box.bottomLeft, x: axisX, y: plot.maxY, style: Style(.axis))
        var usedRow = Int.min
        // Top tick first so that, when two ticks share a row, the larger value is kept.
        for (tick, label) in zip(scale.ticks, labels).reversed() {
            let row = plot.y + mapping.row(tick).dot / dotsDown
            guard row != usedRow, row >= plot.y, row < plot.maxY else { continue }
            usedRow = row
            grid.set(box.tickLeft, x: axisX, y: row, style: Style(.axis))
            grid.put(label, x: axisX - label.count, y: row, style: Style(.axis))
        }
    }

    private func drawXAxis(into grid: inout CellGrid, plot: Rect, lo: Double, hi: Double,
                           dotX: (Double) -> Int, dotsAcross: Int) {
        let maxTicks = max(2, plot.width / 8)
        var scale = xFormat == .duration
            ? AxisTicks.duration(lo: lo, hi: hi, maxTicks: maxTicks)
            : AxisTicks.fixed(lo: lo, hi: hi, maxTicks: maxTicks, minimumStep: integerX ? 1 : 0)
        // A narrow window (say steps 250…490) may hold no round tick at all: label its ends.
        if scale.ticks.count < 2 && plot.width >= 8 {
            scale = AxisScale(lo: lo, hi: hi, step: hi - lo, ticks: [lo, hi])
        }
        let row = plot.maxY
        var lastEnd = plot.x - 1  // the axis corner
        for (tick, label) in zip(scale.ticks, scale.labels(format: xFormat, glyphs: glyphs)) {
            let column = plot.x + dotX(tick) / dotsAcross
            let start = min(max(column - label.count / 2, plot.x), plot.maxX - label.count)
            guard start > lastEnd, start >= plot.x else { continue }
            grid.put(label, x: start, y: row, style: Style(.axis))
            lastEnd = start + label.count
        }
    }
}
