/// A bordered box centred over the screen: help (a key table), a confirmation question, or a
/// pick-list. It blanks the area it covers, so whatever is underneath does not show through.
///
/// ```
/// ┌─ Quit ────────────────┐
/// │                       │
/// │ Save before quitting? │
/// │                       │
/// │ y/n/esc               │
/// │                       │
/// └───────────────────────┘
/// ```
public struct Dialog: Sendable {
    public enum Content: Equatable, Sendable {
        /// Paragraphs, word-wrapped to the box.
        case text([String])
        /// Keys and what they do, in two aligned columns.
        case keyTable([KeyHint])
        /// Choices with one selected; the list scrolls to keep the selection visible.
        case pickList(items: [String], selected: Int)
    }

    public var title: String
    public var content: Content
    /// A last line under a blank one, e.g. "y save  n discard  esc cancel".
    public var footer: String?
    /// Widest the inner text area may grow (the screen may make it smaller).
    public var maxContentWidth: Int
    public var glyphs: GlyphSet

    public init(title: String, content: Content, footer: String? = nil, maxContentWidth: Int = 60,
                glyphs: GlyphSet = .unicode) {
        // Spelled for the glyph set before anything is measured.
        self.title = glyphs.text(title)
        switch content {
        case .text(let lines): self.content = .text(lines.map(glyphs.text))
        case .keyTable(let hints): self.content = .keyTable(hints.map { KeyHint(glyphs.text($0.key), glyphs.text($0.label), priority: $0.priority) })
        case .pickList(let items, let selected): self.content = .pickList(items: items.map(glyphs.text), selected: selected)
        }
        self.footer = footer.map(glyphs.text)
        self.maxContentWidth = maxContentWidth
        self.glyphs = glyphs
    }

    /// The box this dialog takes inside `rect`: its natural size, clamped to `rect`.
    public func frame(in rect: Rect) -> Rect {
        let natural = naturalContentWidth()
        // Border and one space of padding on each side.
        let width = min(natural, maxContentWidth) + 4
        let contentHeight = lines(width: max(1, min(width, rect.width) - 4)).count
        let height = 2 + 1 + contentHeight + 1 + (footer == nil ? 0 : 2)
        return rect.centered(width: width, height: height)
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        let box = frame(in: rect)
        guard box.width >= 5, box.height >= 3 else {
            grid.putTruncated(title, x: rect.x, y: rect.y, maxWidth: rect.width, style: Style(.title, bold: true),
                              glyphs: glyphs)
            return
        }
        grid.fill(box)
        let inner = Panel(title: title, focused: true, glyphs: glyphs).render(into: &grid, in: box)
        var body = inner.inset(top: 1, left: 1, bottom: 1, right: 1)
        if let footer, body.height >= 3 {
            grid.putTruncated(footer, x: body.x, y: body.maxY - 1, maxWidth: body.width, style: Style(.dim),
                              glyphs: glyphs)
            body = body.inset(bottom: 2)
        }
        guard !body.isEmpty else { return }

        switch content {
        case .text, .keyTable:
            for (row, line) in lines(width: body.width).prefix(body.height).enumerated() {
                if case .keyTable = content, let keyWidth = keyColumnWidth {
                    grid.put(String(line.prefix(keyWidth)), x: body.x, y: body.y + row,
                             style: Style(.accent, bold: true), clip: body)
                    grid.putTruncated(String(line.dropFirst(keyWidth)), x: body.x + keyWidth, y: body.y + row,
                                      maxWidth: body.width - keyWidth, style: Style(.normal), glyphs: glyphs,
                                      clip: body)
                } else {
                    grid.putTruncated(line, x: body.x, y: body.y + row, maxWidth: body.width, glyphs: glyphs,
                                      clip: body)
                }
            }
        case .pickList(let items, let selected):
            let chosen = min(max(selected, 0), max(0, items.count - 1))
            let first = max(0, min(chosen - body.height + 1, items.count - body.height))
            for (row, item) in items.dropFirst(first).prefix(body.height).enumerated() {
                let y = body.y + row
                let style = first + row == chosen ? Style(.selected) : Style(.normal)
                if first + row == chosen { grid.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: style) }
                grid.putTruncated(item, x: body.x, y: y, maxWidth: body.width, style: style, glyphs: glyphs)
            }
        }
    }

    /// Width of the key column (keys plus two spaces) of a key table.
    private var keyColumnWidth: Int? {
        guard case .keyTable(let hints) = content else { return nil }
        return (hints.map(\.key.count).max() ?? 0) + 2
    }

    private func naturalContentWidth() -> Int {
        let bodyWidth: Int
        switch content {
        case .text(let paragraphs): bodyWidth = paragraphs.map(\.count).max() ?? 0
        case .keyTable(let hints): bodyWidth = (keyColumnWidth ?? 0) + (hints.map(\.label.count).max() ?? 0)
        case .pickList(let items, _): bodyWidth = items.map(\.count).max() ?? 0
        }
        // The title needs "─ title ─" inside the corners.
        return max(bodyWidth, footer?.count ?? 0, title.count + 4, 10)
    }

    /// The body as display lines for a text area `width` cells wide.
    private func lines(width: Int) -> [String] {
        switch content {
        case .text(let paragraphs):
            return paragraphs.flatMap { $0.isEmpty ? [""] : TextFit.wrap($0, width: width) }
        case .keyTable(let hints):
            let keyWidth = keyColumnWidth ?? 0
            return hints.map { $0.key + String(repeating: " ", count: keyWidth - $0.key.count) + $0.label }
        case .pickList(let items, _):
            return items
        }
    }
}
