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

    public init(counts: [Double], range: ClosedRange<Double>, labels: [AxisLabel] = [], marker: Double? = nil,
                role: ColorRole = .series(0), glyphs: GlyphSet = .unicode, emptyMessage: String = "no data yet") {
        self.counts = counts
        self.range = range
        self.labels = labels
        self.marker = marker
        self.role = role
        self.glyphs = glyphs
        self.emptyMessage = emptyMessage
    }

    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let hasLabels = !labels.isEmpty && rect.height >= 2
        let bars = hasLabels ? rect.inset(bottom: 1) : rect
        if hasLabels { AxisLabel.draw(labels, into: &grid, row: bars.maxY, x: rect.x, width: rect.width, range: range) }

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
        if let marker, let column = AxisLabel.column(of: marker, range: range, width: bars.width) {
            let line: Character = glyphs == .unicode ? "│" : "|"
            for y in bars.y..<bars.maxY where grid.characterAt(x: bars.x + column, y: y) == " " {
                grid.set(line, x: bars.x + column, y: y, style: Style(.accent))
            }
        }
    }
}
