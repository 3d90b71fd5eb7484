/// A horizontal axis row under column-per-time widgets (heat strips, band charts): the x values
/// of the first and last drawn column are known, ticks go at round values between them.
enum StepAxis {
    /// Labels on `row` for x running from `first` (column `x`) to `last` (column `x + columns - 1`),
    /// within `width` cells. With one column (or first == last) only `first` is written.
    static func draw(into grid: inout CellGrid, row: Int, x: Int, width: Int, columns: Int, first: Double,
                     last: Double, format: ValueFormat, glyphs: GlyphSet) {
        guard width > 0, columns > 0, first.isFinite, last.isFinite else { return }
        let clip = Rect(x: x, y: row, width: width, height: 1)
        guard columns > 1, last > first else {
            grid.put(format.tick(first, step: 1, glyphs: glyphs), x: x, y: row, style: Style(.axis), clip: clip)
            return
        }
        let maxTicks = max(2, columns / 8)
        var scale = format == .duration
            ? AxisTicks.duration(lo: first, hi: last, maxTicks: maxTicks)
            : AxisTicks.fixed(lo: first, hi: last, maxTicks: maxTicks, minimumStep: 1)
        if scale.ticks.count < 2 { scale = AxisScale(lo: first, hi: last, step: last - first, ticks: [first, last]) }
        var lastEnd = x - 1
        for (tick, label) in zip(scale.ticks, scale.labels(format: format, glyphs: glyphs)) {
            let column = x + Int(((tick - first) / (last - first) * Double(columns - 1)).rounded())
            let start = min(max(column - label.count / 2, x), x + width - label.count)
            guard start > lastEnd, start >= x else { continue }
            grid.put(label, x: start, y: row, style: Style(.axis), clip: clip)
            lastEnd = start + label.count
        }
    }
}
