/// How a distribution changes over time, like TensorBoard's distributions view: columns are
/// time (oldest left), rows are bins (the highest bin at the top), shade is intensity.
///
/// With more time samples than columns, neighbouring samples are averaged into one column;
/// with fewer, each sample takes one column from the left. Bins are resampled to the height
/// (merged by mean, repeated when growing). Shades ` ░▒▓█` carry the level in monochrome and
/// `.heat(0...4)` colours it; ASCII uses ` .:-=+*#%@`. Any non-zero value shows at least the
/// faintest shade, so a thin tail never disappears.
public struct HeatStrip: Sendable {
    /// How intensities are normalised.
    public enum Scale: Sendable {
        /// Against the largest value anywhere, so columns are comparable.
        case global
        /// Against each column's own largest value, to see the shape of a spread-out column.
        case perColumn
    }

    /// Time × bins: `frames[t][b]` is the (normalised) histogram value of bin b at time t.
    public var frames: [[Double]]
    public var scale: Scale
    public var glyphs: GlyphSet
    public var emptyMessage: String
    /// The x value (step) of each frame; when given (one per frame), the bottom row is an x axis.
    public var steps: [Double]
    public var xFormat: ValueFormat
    /// Labels for the bin axis on the left, e.g. (0, "0°"), (π, "180°") over `binRange`.
    public var binLabels: [AxisLabel]
    /// The value range the bins cover (for placing `binLabels`).
    public var binRange: ClosedRange<Double>

    public init(frames: [[Double]], scale: Scale = .global, glyphs: GlyphSet = .unicode,
                emptyMessage: String = "no data yet", steps: [Double] = [], xFormat: ValueFormat = .number,
                binLabels: [AxisLabel] = [], binRange: ClosedRange<Double> = 0...1) {
        self.frames = frames
        self.scale = scale
        self.glyphs = glyphs
        self.emptyMessage = emptyMessage
        self.steps = steps
        self.xFormat = xFormat
        self.binLabels = binLabels
        self.binRange = binRange
    }

    static let shades: [Character] = [" ", "░", "▒", "▓", "█"]
    static let asciiShades: [Character] = [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"]

    /// The display matrix: one column per entry, each `height` values from the top row down.
    public func columns(width: Int, height: Int) -> [[Double]] {
        guard width > 0, height > 0 else { return [] }
        return Resample.groups(sampleCount: frames.count, columns: width).map { group in
            let resampled = group.map { Resample.bins(frames[$0], to: height, merge: .mean) }
            var column = [Double](repeating: 0, count: height)
            for r in resampled { for i in 0..<height { column[i] += r[i] } }
            let n = Double(group.count)
            // Bin 0 is the low end of the range: it goes to the bottom row.
            return column.reversed().map { $0 / n }
        }
    }

    public func render(into grid: inout CellGrid, in whole: Rect) {
        guard !whole.isEmpty else { return }
        let hasAxis = !steps.isEmpty && steps.count == frames.count && whole.height >= 3
        let labelWidth = binLabels.map(\.text.count).max() ?? 0
        let rect = whole.inset(left: labelWidth > 0 ? labelWidth + 1 : 0, bottom: hasAxis ? 1 : 0)
        guard !rect.isEmpty else { return }
        if labelWidth > 0 {
            let span = binRange.upperBound - binRange.lowerBound
            let line: Character = glyphs == .unicode ? "│" : "|"
            for y in rect.y..<rect.maxY { grid.set(line, x: rect.x - 1, y: y, style: Style(.axis)) }
            for label in binLabels where span > 0 && binRange.contains(label.value) {
                let row = min(rect.height - 1, Int((binRange.upperBound - label.value) / span * Double(rect.height)))
                grid.put(label.text, x: rect.x - 1 - label.text.count, y: rect.y + row, style: Style(.axis))
            }
        }
        if hasAxis, let first = steps.first, let last = steps.last {
            StepAxis.draw(into: &grid, row: rect.maxY, x: rect.x, width: rect.width,
                          columns: min(frames.count, rect.width), first: first, last: last, format: xFormat,
                          glyphs: glyphs)
        }
        let columns = columns(width: rect.width, height: rect.height)
        let globalPeak = columns.lazy.flatMap { $0 }.max() ?? 0
        guard !frames.isEmpty, globalPeak > 0 else {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }
        let levels = glyphs == .unicode ? HeatStrip.shades : HeatStrip.asciiShades
        let top = Double(levels.count - 1)
        for (c, column) in columns.enumerated() {
            let peak = scale == .global ? globalPeak : (column.max() ?? 0)
            guard peak > 0 else { continue }
            for (row, value) in column.enumerated() where value > 0 {
                let level = min(levels.count - 1, max(1, Int((value / peak * top).rounded(.up))))
                // Shade levels 1...top spread over the heat colours, first to last.
                let heat = Int((Double(level - 1) / (top - 1) * Double(ColorRole.heatLevels - 1)).rounded())
                grid.set(levels[level], x: rect.x + c, y: rect.y + row, style: Style(.heat(heat)))
            }
        }
    }
}
