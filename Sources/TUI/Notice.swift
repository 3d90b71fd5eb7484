/// A short message centred in an area, word-wrapped to fit: "no data yet", "terminal too small".
/// Lines that still do not fit are cut, never drawn outside the area.
public struct Notice: Sendable {
    public var lines: [String]
    public var role: ColorRole
    public var glyphs: GlyphSet

    public init(lines: [String], role: ColorRole = .warn, glyphs: GlyphSet = .unicode) {
        self.lines = lines.map(glyphs.text)
        self.role = role
        self.glyphs = glyphs
    }

    /// "terminal too small (need ≥ 80×24, have 60×20)".
    public static func terminalTooSmall(width: Int, height: Int, minimumWidth: Int = 80, minimumHeight: Int = 24,
                                        glyphs: GlyphSet = .unicode) -> Notice {
        let (atLeast, by) = glyphs == .unicode ? ("≥", "×") : (">=", "x")
        let text = "terminal too small (need \(atLeast) \(minimumWidth)\(by)\(minimumHeight), "
            + "have \(width)\(by)\(height))"
        return Notice(lines: [text], role: .warn, glyphs: glyphs)
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let wrapped = lines.flatMap { TextFit.wrap($0, width: rect.width) }
        let shown = wrapped.prefix(rect.height)
        let top = rect.y + (rect.height - shown.count) / 2
        for (i, line) in shown.enumerated() {
            let text = TextFit.truncate(line, to: rect.width, glyphs: glyphs)
            grid.put(text, x: rect.x + (rect.width - text.count) / 2, y: top + i, style: Style(role), clip: rect)
        }
    }
}
