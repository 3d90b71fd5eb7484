/// A label at a value on a chart axis, e.g. (π/2, "π/2").
public struct AxisLabel: Equatable, Sendable {
    public var value: Double
    public var text: String
    public init(_ value: Double, _ text: String) { self.value = value; self.text = text }
}

extension AxisLabel {
    /// The column (0..<width) where `value` falls when [lo, hi] spans `width` columns;
    /// nil for a value outside the range or a non-finite one.
    static func column(of value: Double, range: ClosedRange<Double>, width: Int) -> Int? {
        let span = range.upperBound - range.lowerBound
        guard width > 0, value.isFinite, span > 0, range.contains(value) else { return nil }
        return min(width - 1, Int((value - range.lowerBound) / span * Double(width)))
    }

    /// Draws labels on one row: each centred under its column, pushed inside the row at the
    /// ends, and skipped when it would touch the previous one.
    static func draw(_ labels: [AxisLabel], into grid: inout CellGrid, row: Int, x: Int, width: Int,
                     range: ClosedRange<Double>) {
        var lastEnd = Int.min
        for label in labels.sorted(by: { $0.value < $1.value }) {
            guard let column = column(of: label.value, range: range, width: width),
                  label.text.count <= width else { continue }
            let start = x + min(max(column - label.text.count / 2, 0), width - label.text.count)
            guard start > lastEnd else { continue }
            grid.put(label.text, x: start, y: row, style: Style(.axis))
            lastEnd = start + label.text.count
        }
    }
}
