/// One line of the event log.
public struct LogLine: Equatable, Sendable {
    public var text: String
    public var role: ColorRole
    public init(_ text: String, role: ColorRole = .normal) { self.text = text; self.role = role }
}

/// The last lines of an event log, oldest at the top and newest at the bottom; lines too long
/// for the width end in an ellipsis. Control characters (newline, tab) show as spaces.
public struct LogView: Sendable {
    public var lines: [LogLine]
    public var glyphs: GlyphSet

    public init(lines: [LogLine], glyphs: GlyphSet = .unicode) {
        self.lines = lines
        self.glyphs = glyphs
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        for (row, line) in lines.suffix(rect.height).enumerated() {
            let flat = String(line.text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
            grid.putTruncated(flat, x: rect.x, y: rect.y + row, maxWidth: rect.width, style: Style(line.role),
                              glyphs: glyphs, clip: rect)
        }
    }
}
