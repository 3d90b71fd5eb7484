/// A confusion matrix: rows are the true classes, columns the predicted ones, each cell the
/// count shaded by its share of the row; the diagonal (right answers) in the ok colour, the
/// rest in heat colours; each row ends with the class's accuracy.
///
/// ```
///          T-shi Trous Pullo    acc
/// T-shirt    912     3    21  91.2%
/// Trouser      2   981     ·  98.1%
/// Pullover    30     1   870  87.0%
/// ```
/// Class names are cut to fit (row labels to a quarter of the width, column heads to the
/// cell width, which grows when there is room); zero counts show as `·`; when the columns do not fit, the matrix is dropped and only the per-class
/// accuracies are listed, so the numbers are readable at any size.
public struct ConfusionMatrix: Sendable {
    public var classes: [String]
    /// `counts[t][p]`: images of true class t predicted as p.
    public var counts: [[Int]]
    public var glyphs: GlyphSet
    public var emptyMessage: String

    public init(classes: [String], counts: [[Int]], glyphs: GlyphSet = .unicode, emptyMessage: String = "no evaluation yet") {
        self.classes = classes.map(glyphs.text)
        self.counts = counts
        self.glyphs = glyphs
        self.emptyMessage = glyphs.text(emptyMessage)
    }

    /// Accuracy of each true class (nil for a class with no samples).
    public var accuracies: [Double?] {
        classes.indices.map { t in
            let row = t < counts.count ? counts[t] : []
            let total = row.reduce(0, +)
            return total > 0 && t < row.count ? Double(row[t]) / Double(total) : nil
        }
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let n = classes.count
        guard n > 0, counts.contains(where: { $0.contains { $0 > 0 } }) else {
            Notice(lines: [emptyMessage], role: .dim, glyphs: glyphs).render(into: &grid, in: rect)
            return
        }
        let accuracy = accuracies
        let accWidth = 6  // " 91.2%" or "100.0%"
        let largest = counts.flatMap { $0 }.max() ?? 0
        let labelWidth = min(classes.map(\.count).max() ?? 0, max(4, rect.width / 4))
        // Cells as wide as the numbers need, wider (up to the longest name) when there is room.
        let room = (rect.width - labelWidth - accWidth - 1) / max(1, n)
        let cell = max(String(largest).count + 1, min(room, (classes.map(\.count).max() ?? 0) + 1), 4)
        let matrixFits = labelWidth + n * cell + accWidth + 1 <= rect.width && rect.height >= n + 1
        let header = rect.y
        let top = matrixFits ? rect.y + 1 : rect.y
        if matrixFits {
            for p in 0..<n {
                // Column heads are cut without an ellipsis: "Pullo" reads better than "Pu…".
                let head = String(classes[p].prefix(cell - 1))
                grid.put(head, x: rect.x + labelWidth + p * cell + (cell - head.count), y: header, style: Style(.label))
            }
            grid.put("acc", x: rect.x + labelWidth + n * cell + accWidth - 2, y: header, style: Style(.label))
        }
        for t in 0..<min(n, rect.maxY - top) {
            let y = top + t
            grid.putTruncated(classes[t], x: rect.x, y: y, maxWidth: labelWidth, style: Style(.label), glyphs: glyphs)
            var x = rect.x + labelWidth
            if matrixFits {
                let row = t < counts.count ? counts[t] : []
                let total = row.reduce(0, +)
                for p in 0..<n {
                    let value = p < row.count ? row[p] : 0
                    let text = value == 0 ? (glyphs == .unicode ? "·" : ".") : String(value)
                    let share = total > 0 ? Double(value) / Double(total) : 0
                    let style: Style
                    if value == 0 { style = Style(.dim) }
                    else if p == t { style = Style(.ok, bold: true) }
                    else { style = Style(.heat(min(ColorRole.heatLevels - 1, Int(share * 10)))) }
                    grid.put(text, x: x + cell - text.count, y: y, style: style)
                    x += cell
                }
            }
            let acc = accuracy[t].map { ValueFormat.percent.readout($0) } ?? "-"
            let accRole: ColorRole = (accuracy[t] ?? 1) < 0.8 ? .warn : .normal
            grid.put(acc, x: x + accWidth + 1 - acc.count, y: y, style: Style(accRole), clip: rect)
        }
    }
}
