/// One row of a `Form`: a label, its value as text, and how it is being interacted with.
public struct FormRow: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        case normal
        /// The row keys act on: drawn highlighted.
        case focused
        /// The value is being typed; `cursor` is the insertion point, 0...value.count.
        case editing(cursor: Int)
    }

    public var label: String
    public var value: String
    public var mode: Mode
    /// Why the value is invalid; shown in the error colour on a line of its own below the row.
    public var message: String?

    public init(label: String, value: String, mode: Mode = .normal, message: String? = nil) {
        self.label = label
        self.value = value
        self.mode = mode
        self.message = message
    }

    /// Display lines this row takes: one, plus one for a message.
    var lineCount: Int { message == nil ? 1 : 2 }
}

/// Label–value rows for a controls panel: the focused row is highlighted, an edited value shows
/// a text cursor, an invalid value its message, and the list scrolls to keep the focused row in
/// view (`▲`/`▼` at the right edge say there is more above or below).
///
/// Rendering is stateless: pass the previous `firstLine` (see `scrolled(height:)`) to keep the
/// view steady while the focus moves inside it.
public struct Form: Sendable {
    public var rows: [FormRow]
    /// The first display line the caller showed last time; it moves only as far as needed to
    /// bring the focused row into view.
    public var firstLine: Int
    public var glyphs: GlyphSet

    public init(rows: [FormRow], firstLine: Int = 0, glyphs: GlyphSet = .unicode) {
        // Spelled for the glyph set before anything is measured.
        self.rows = glyphs == .unicode ? rows : rows.map { r in
            var r = r
            r.label = glyphs.text(r.label); r.value = glyphs.text(r.value); r.message = r.message.map(glyphs.text)
            return r
        }
        self.firstLine = firstLine
        self.glyphs = glyphs
    }

    /// Index of the focused or edited row, if any.
    public var focusedRow: Int? { rows.firstIndex { $0.mode != .normal } }

    /// The first display line to show in `height` lines: `firstLine` clamped to the content and
    /// moved just enough to show the focused row with its message. Store it for the next frame.
    public func scrolled(height: Int) -> Int {
        let total = rows.reduce(0) { $0 + $1.lineCount }
        var first = min(max(firstLine, 0), max(0, total - height))
        guard height > 0, let focus = focusedRow else { return first }
        let start = rows[..<focus].reduce(0) { $0 + $1.lineCount }
        let end = start + rows[focus].lineCount
        if end > first + height { first = end - height }
        if start < first { first = start }
        return first
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        // Every row as its display lines, so scrolling works in lines, not rows.
        var lines: [(row: Int, isMessage: Bool)] = []
        for (i, row) in rows.enumerated() {
            lines.append((i, false))
            if row.message != nil { lines.append((i, true)) }
        }
        let scrolling = lines.count > rect.height
        let area = scrolling ? rect.inset(right: 1) : rect
        let labelWidth = min(rows.map(\.label.count).max() ?? 0, max(0, area.width / 2))
        let valueX = area.x + labelWidth + 1
        let valueWidth = area.maxX - valueX
        let first = scrolled(height: rect.height)

        for (offset, line) in lines.dropFirst(first).prefix(rect.height).enumerated() {
            let y = rect.y + offset
            let row = rows[line.row]
            let lineRect = Rect(x: area.x, y: y, width: area.width, height: 1)
            if line.isMessage {
                let text = (glyphs == .unicode ? "⚠ " : "! ") + (row.message ?? "")
                grid.putTruncated(text, x: valueX, y: y, maxWidth: valueWidth, style: Style(.error), glyphs: glyphs,
                                  clip: lineRect)
                continue
            }
            let label = TextFit.truncate(row.label, to: labelWidth, glyphs: glyphs)
            switch row.mode {
            case .normal:
                grid.put(label, x: area.x, y: y, style: Style(.label), clip: lineRect)
                let style = row.message == nil ? Style(.normal) : Style(.error)
                grid.putTruncated(row.value, x: valueX, y: y, maxWidth: valueWidth, style: style, glyphs: glyphs,
                                  clip: lineRect)
            case .focused:
                let style = Style(row.message == nil ? .selected : .error, reverse: row.message != nil)
                grid.fill(lineRect, style: style)
                grid.put(label, x: area.x, y: y, style: style, clip: lineRect)
                grid.putTruncated(row.value, x: valueX, y: y, maxWidth: valueWidth, style: style, glyphs: glyphs,
                                  clip: lineRect)
            case .editing(let cursor):
                grid.put(label, x: area.x, y: y, style: Style(.accent, bold: true), clip: lineRect)
                drawEditor(row.value, cursor: cursor, into: &grid, x: valueX, y: y, width: valueWidth,
                           invalid: row.message != nil)
            }
        }
        if scrolling {
            let (up, down): (Character, Character) = glyphs == .unicode ? ("▲", "▼") : ("^", "v")
            if first > 0 { grid.set(up, x: rect.maxX - 1, y: rect.y, style: Style(.dim)) }
            if first + rect.height < lines.count { grid.set(down, x: rect.maxX - 1, y: rect.maxY - 1, style: Style(.dim)) }
        }
    }

    /// The value being typed, scrolled sideways so the cursor stays visible, with the cursor
    /// cell in reverse video (the hardware cursor stays hidden).
    private func drawEditor(_ value: String, cursor: Int, into grid: inout CellGrid, x: Int, y: Int, width: Int,
                            invalid: Bool) {
        guard width > 0 else { return }
        let characters = Array(value)
        let cursor = min(max(cursor, 0), characters.count)
        let start = max(0, cursor - width + 1)
        let style = Style(invalid ? .error : .normal)
        grid.fill(Rect(x: x, y: y, width: width, height: 1), style: Style(.normal))
        for i in 0..<width {
            let index = start + i
            let character = index < characters.count ? characters[index] : " "
            let cellStyle = index == cursor ? style.reversed : style
            if index > characters.count { break }
            grid.set(character, x: x + i, y: y, style: cellStyle)
        }
    }
}
