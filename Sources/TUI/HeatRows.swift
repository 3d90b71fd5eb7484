/// One labelled row of a `HeatRows` chart, e.g. a layer and its median θ at each sample.
public struct HeatRow: Equatable, Sendable {
    public var label: String
    public var values: [Double]
    public init(label: String, values: [Double]) { self.label = label; self.values = values }
}

/// Several quantities over the same x samples, one labelled row each, the value as shade and
/// colour — the all-layers view ("median θ per layer over steps"), where small multiples would
/// not fit. One scale for all rows so rows compare; a legend row says what the shades mean.
///
/// ```
/// conv1 ░░▒▒▓▓██
/// conv2 ░░░▒▒▒▓▓
///       0     100
/// ░ 80.1° … █ 93.2°
/// ```
/// Time is compressed like `HeatStrip` (values averaged per column); NaN leaves a gap. ASCII
/// shades: `.:=#`.
public struct HeatRows: Sendable {
    public var rows: [HeatRow]
    /// The x value of each sample; when given (same count as the rows' values), an x axis row.
    public var steps: [Double]
    /// How values read in the legend, e.g. `.degrees` for angles in radians.
    public var format: ValueFormat
    public var xFormat: ValueFormat
    /// Fixed value range; nil uses the smallest and largest finite value.
    public var range: ClosedRange<Double>?
    public var glyphs: GlyphSet
    public var emptyMessage: String

    public init(rows: [HeatRow], steps: [Double] = [], format: ValueFormat = .number, xFormat: ValueFormat = .number,
                range: ClosedRange<Double>? = nil, glyphs: GlyphSet = .unicode, emptyMessage: String = "no data yet") {
        self.rows = glyphs == .unicode ? rows : rows.map { HeatRow(label: AsciiText.fold($0.label), values: $0.values) }
        self.steps = steps
        self.format = format
        self.xFormat = xFormat
        self.range = range
        self.glyphs = glyphs
        self.emptyMessage = glyphs.text(emptyMessage)
    }

    static let shades: [Character] = ["░", "▒", "▓", "█"]
    static let asciiShades: [Character] = [".", ":", "=", "#"]

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let finite = rows.flatMap(\.values).filter(\.isFinite)
        guard let dataLo = finite.min(), let dataHi = finite.max() else {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }
        let lo = range?.lowerBound ?? dataLo, hi = range?.upperBound ?? dataHi
        let sampleCount = rows.map(\.values.count).max() ?? 0
        let hasAxis = !steps.isEmpty && steps.count == sampleCount && rect.height >= rows.count + 2
        let hasLegend = rect.height >= rows.count + (hasAxis ? 1 : 0) + 1
        let labelWidth = min(rows.map(\.label.count).max() ?? 0, max(0, rect.width / 4))
        let plot = Rect(x: rect.x + labelWidth + (labelWidth > 0 ? 1 : 0), y: rect.y,
                        width: rect.width - labelWidth - (labelWidth > 0 ? 1 : 0),
                        height: min(rows.count, rect.height - (hasAxis ? 1 : 0) - (hasLegend ? 1 : 0)))
        guard plot.width >= 1 else { return }
        let ramp = glyphs == .unicode ? HeatRows.shades : HeatRows.asciiShades
        let groups = Resample.groups(sampleCount: sampleCount, columns: plot.width)
        for (r, row) in rows.prefix(max(0, plot.height)).enumerated() {
            let y = plot.y + r
            grid.putTruncated(row.label, x: rect.x, y: y, maxWidth: labelWidth, style: Style(.label), glyphs: glyphs)
            for (c, group) in groups.enumerated() {
                let values = group.compactMap { $0 < row.values.count ? row.values[$0] : nil }.filter(\.isFinite)
                guard !values.isEmpty else { continue }
                let mean = values.reduce(0, +) / Double(values.count)
                let level = HeatRows.level(mean, lo: lo, hi: hi, levels: ramp.count)
                let heat = Int((Double(level) / Double(ramp.count - 1) * Double(ColorRole.heatLevels - 1)).rounded())
                grid.set(ramp[level], x: plot.x + c, y: y, style: Style(.heat(heat)))
            }
        }
        var row = plot.maxY
        if hasAxis, let first = steps.first, let last = steps.last {
            StepAxis.draw(into: &grid, row: row, x: plot.x, width: plot.width, columns: min(sampleCount, plot.width),
                          first: first, last: last, format: xFormat, glyphs: glyphs)
            row += 1
        }
        if hasLegend {
            let dots = glyphs == .unicode ? "…" : "to"   // not "..", which marks cut text in ASCII
            let text = "\(ramp[0]) \(format.readout(lo, glyphs: glyphs)) \(dots) \(ramp[ramp.count - 1]) "
                + format.readout(hi, glyphs: glyphs)
            grid.putTruncated(text, x: plot.x, y: row, maxWidth: rect.maxX - plot.x, style: Style(.dim), glyphs: glyphs)
            grid.restyle(x: plot.x, y: row, style: Style(.heat(0)))
            grid.restyle(x: plot.x + text.count - format.readout(hi, glyphs: glyphs).count - 2, y: row,
                         style: Style(.heat(ColorRole.heatLevels - 1)))
        }
    }

    /// Shade index 0..<levels for `value` in [lo, hi]; a flat range sits in the middle.
    static func level(_ value: Double, lo: Double, hi: Double, levels: Int) -> Int {
        guard hi > lo else { return levels / 2 }
        return Int(clamping: ((value - lo) / (hi - lo) * Double(levels)).rounded(.down), to: 0...(levels - 1))
    }
}
