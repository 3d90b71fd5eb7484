/// A key and what it does, e.g. ("space", "pause").
public struct KeyHint: Equatable, Sendable {
    public var key: String
    public var label: String
    /// Higher stays longer when the bar is short of room (`q quit` and `? help` should outrank
    /// `[ ] layer`); equal priorities drop from the end.
    public var priority: Int
    public init(_ key: String, _ label: String, priority: Int = 0) {
        self.key = key
        self.label = label
        self.priority = priority
    }
}

/// Key hints on one line: `space pause  q quit  ? help`. When they do not all fit, the
/// lowest-priority hints are left out whole (the rest keep their order) and an ellipsis at the
/// end says that there are more.
public struct HelpBar: Sendable {
    public var hints: [KeyHint]
    public var glyphs: GlyphSet

    public init(hints: [KeyHint], glyphs: GlyphSet = .unicode) {
        // Spelled for the glyph set before anything is measured.
        self.hints = glyphs == .ascii ? hints.map { KeyHint(AsciiText.fold($0.key), AsciiText.fold($0.label), priority: $0.priority) } : hints
        self.glyphs = glyphs
    }

    /// The hints shown in `width` cells, in their original order.
    public func shown(width: Int) -> [KeyHint] {
        var kept = Array(hints.indices)
        func needed(_ indices: [Int]) -> Int {
            let text = indices.reduce(0) { $0 + hints[$1].key.count + 1 + hints[$1].label.count }
                + 2 * max(0, indices.count - 1)
            let more = TextFit.ellipsis(glyphs).count   // "  …" says that hints were left out
            return text + (indices.count < hints.count ? (indices.isEmpty ? more : 2 + more) : 0)
        }
        while !kept.isEmpty && needed(kept) > width {
            // The lowest priority goes first; among equals, the last one.
            let victim = kept.indices.min { a, b in
                let (pa, pb) = (hints[kept[a]].priority, hints[kept[b]].priority)
                return pa != pb ? pa < pb : a > b
            }!
            kept.remove(at: victim)
        }
        return kept.map { hints[$0] }
    }

    public func render(into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let row = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
        let shown = shown(width: rect.width)
        var x = rect.x
        for hint in shown {
            x = grid.put(hint.key, x: x, y: rect.y, style: Style(.accent, bold: true), clip: row)
            x = grid.put(" " + hint.label, x: x, y: rect.y, style: Style(.dim), clip: row) + 2
        }
        if shown.count < hints.count {
            grid.put(TextFit.ellipsis(glyphs), x: shown.isEmpty ? rect.x : x, y: rect.y, style: Style(.dim), clip: row)
        }
    }
}
