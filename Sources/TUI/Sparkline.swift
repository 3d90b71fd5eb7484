/// A one-line chart of the most recent values, newest at the right: `▁▂▄▇█▆▃`.
/// Shows the last `width` values; NaN and ±∞ leave a gap. A flat series sits mid-height.
public struct Sparkline: Sendable {
    public var values: [Double]
    /// Fixed range; nil uses the minimum and maximum of the values shown.
    public var range: ClosedRange<Double>?
    public var role: ColorRole
    public var glyphs: GlyphSet

    public init(values: [Double], range: ClosedRange<Double>? = nil, role: ColorRole = .series(0),
                glyphs: GlyphSet = .unicode) {
        self.values = values
        self.range = range
        self.role = role
        self.glyphs = glyphs
    }

    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let asciiLevels: [Character] = ["_", ".", "-", "~", "=", "+", "*", "#"]

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let shown = values.suffix(rect.width)
        let finite = shown.filter(\.isFinite)
        guard let low = range?.lowerBound ?? finite.min(), let high = range?.upperBound ?? finite.max() else { return }
        let ramp = glyphs == .unicode ? Sparkline.levels : Sparkline.asciiLevels
        let top = ramp.count - 1
        var x = rect.maxX - shown.count
        for value in shown {
            defer { x += 1 }
            guard value.isFinite else { continue }
            let level = high > low
                ? Int(clamping: ((value - low) / (high - low) * Double(top)).rounded(), to: 0...top)
                : top / 2
            grid.set(ramp[level], x: x, y: rect.y, style: Style(role))
        }
    }
}
