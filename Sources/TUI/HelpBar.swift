/// A key and what it does, e.g. ("space", "pause").
public struct KeyHint: Equatable, Sendable {
    public var key: String
    public var label: String
    public init(_ key: String, _ label: String) { self.key = key; self.label = label }
}

/// Key hints on one line: `space pause  q quit  ? help`. Hints that do not fit are left out
/// whole, and an ellipsis says that there are more.
public struct HelpBar: Sendable {
    public var hints: [KeyHint]
    public var glyphs: GlyphSet

    public init(hints: [KeyHint], glyphs: GlyphSet = .unicode) {
        self.hints = hints
        self.glyphs = glyphs
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let row = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
        var x = rect.x
        for (i, hint) in hints.enumerated() {
            let width = hint.key.count + 1 + hint.label.count
            // Unless this is the last hint, leave room for the "  …" that may have to follow it.
            let reserve = i == hints.count - 1 ? 0 : 3
            guard x + width + reserve <= rect.maxX else {
                if x < rect.maxX {
                    grid.put(String(TextFit.ellipsis(glyphs)), x: x, y: rect.y, style: Style(.dim), clip: row)
                }
                return
            }
            x = grid.put(hint.key, x: x, y: rect.y, style: Style(.accent, bold: true), clip: row)
            x = grid.put(" " + hint.label, x: x, y: rect.y, style: Style(.dim), clip: row) + 2
        }
    }
}
