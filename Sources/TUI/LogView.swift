/// One line of the event log.
public struct LogLine: Equatable, Sendable {
    public var text: String
    public var role: ColorRole
    public init(_ text: String, role: ColorRole = .normal) { self.text = text; self.role = role }
}

/// An event log that fills its rectangle, newest at the bottom, scrollable back through older
/// lines. Lines too long for the width end in an ellipsis; control characters (newline, tab)
/// show as spaces; each line keeps its colour role.
///
/// When older lines are hidden above, the top row says `↑ 12 more`; when scrolled back, the
/// bottom row says `↓ 3 newer` — so a reader always knows the log goes on.
public struct LogView: Sendable {
    public var lines: [LogLine]
    public var glyphs: GlyphSet
    /// How many lines the view is scrolled up from the newest (0: following new lines).
    public var scroll: Int

    public init(lines: [LogLine], glyphs: GlyphSet = .unicode, scroll: Int = 0) {
        self.lines = glyphs == .unicode ? lines : lines.map { LogLine(AsciiText.fold($0.text), role: $0.role) }
        self.glyphs = glyphs
        self.scroll = scroll
    }

    /// The largest useful scroll offset for `lineCount` lines in `height` rows.
    public static func maxScroll(lineCount: Int, height: Int) -> Int { max(0, lineCount - max(1, height - 1)) }

    /// The scroll offset after a navigation key: ↑/k and ↓/j one line, page-up/down a page,
    /// home the oldest line, end back to following the newest. Other keys leave it unchanged.
    public static func scrolled(_ offset: Int, by key: Key, lineCount: Int, height: Int) -> Int {
        let page = max(1, height - 2)
        let limit = maxScroll(lineCount: lineCount, height: height)
        let next: Int
        switch key {
        case .up, .char("k"): next = offset + 1
        case .down, .char("j"): next = offset - 1
        case .pageUp: next = offset + page
        case .pageDown: next = offset - page
        case .home: next = limit
        case .end: next = 0
        default: next = offset
        }
        return min(max(next, 0), limit)
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let offset = min(max(scroll, 0), LogView.maxScroll(lineCount: lines.count, height: rect.height))
        let end = lines.count - offset
        var rows = rect.height
        let newerNote = offset > 0 && rows >= 2
        if newerNote { rows -= 1 }
        var start = max(0, end - rows)
        let olderNote = start > 0 && rows >= 2
        if olderNote { start += 1 }
        var y = rect.y
        if olderNote {
            let text = (glyphs == .unicode ? "↑ " : "^ ") + "\(start) more"
            grid.putTruncated(text, x: rect.x, y: y, maxWidth: rect.width, style: Style(.dim), glyphs: glyphs, clip: rect)
            y += 1
        }
        for line in lines[start..<end] {
            let flat = String(line.text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
            grid.putTruncated(flat, x: rect.x, y: y, maxWidth: rect.width, style: Style(line.role),
                              glyphs: glyphs, clip: rect)
            y += 1
        }
        if newerNote {
            let text = (glyphs == .unicode ? "↓ " : "v ") + "\(offset) newer"
            grid.putTruncated(text, x: rect.x, y: rect.maxY - 1, maxWidth: rect.width, style: Style(.dim),
                              glyphs: glyphs, clip: rect)
        }
    }
}
