/// Line characters for borders and axes, Unicode or ASCII.
struct BoxGlyphs {
    let horizontal: Character
    let vertical: Character
    let topLeft: Character
    let topRight: Character
    let bottomLeft: Character
    let bottomRight: Character
    let tickLeft: Character  // axis tick pointing left, on a vertical axis: ┤

    init(_ glyphs: GlyphSet) {
        switch glyphs {
        case .unicode:
            (horizontal, vertical, topLeft, topRight, bottomLeft, bottomRight, tickLeft) =
                ("─", "│", "┌", "┐", "└", "┘", "┤")
        case .ascii:
            (horizontal, vertical, topLeft, topRight, bottomLeft, bottomRight, tickLeft) =
                ("-", "|", "+", "+", "+", "+", "+")
        }
    }
}

/// A bordered box with a title in its top edge: `┌─ Loss ──┐`. Focus shows as an accented,
/// bold border so the reader knows where keys go.
public struct Panel: Sendable {
    public var title: String
    public var focused: Bool
    public var glyphs: GlyphSet

    public init(title: String = "", focused: Bool = false, glyphs: GlyphSet = .unicode) {
        self.title = glyphs.text(title)
        self.focused = focused
        self.glyphs = glyphs
    }

    /// The area inside the border of a panel drawn in `rect`.
    public static func inner(of rect: Rect) -> Rect {
        rect.width < 2 || rect.height < 2 ? Rect(x: rect.x, y: rect.y, width: 0, height: 0) : rect.inset(by: 1)
    }

    /// Draws the border and title and returns the inner area for the panel's contents.
    /// A rect narrower or shorter than 2 cells draws nothing and returns an empty rect.
    @discardableResult
    public func render(into grid: inout CellGrid, in rect: Rect) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Panel.inner(of: rect) }
        let box = BoxGlyphs(glyphs)
        let border = focused ? Style(.accent, bold: true) : Style(.dim)
        let right = rect.maxX - 1, bottom = rect.maxY - 1
        for x in (rect.x + 1)..<right {
            grid.set(box.horizontal, x: x, y: rect.y, style: border)
            grid.set(box.horizontal, x: x, y: bottom, style: border)
        }
        for y in (rect.y + 1)..<bottom {
            grid.set(box.vertical, x: rect.x, y: y, style: border)
            grid.set(box.vertical, x: right, y: y, style: border)
        }
        grid.set(box.topLeft, x: rect.x, y: rect.y, style: border)
        grid.set(box.topRight, x: right, y: rect.y, style: border)
        grid.set(box.bottomLeft, x: rect.x, y: bottom, style: border)
        grid.set(box.bottomRight, x: right, y: bottom, style: border)

        // "┌─ Title ─┐": the title needs its two spaces plus a dash and corner on each side.
        let room = rect.width - 6
        if !title.isEmpty, room >= 1 {
            let shown = TextFit.truncate(title, to: room, glyphs: glyphs)
            let titleStyle = focused ? Style(.title, bold: true, reverse: true) : Style(.title, bold: true)
            grid.put(" ", x: rect.x + 2, y: rect.y, style: border)
            let end = grid.put(shown, x: rect.x + 3, y: rect.y, style: titleStyle)
            grid.put(" ", x: end, y: rect.y, style: border)
        }
        return Panel.inner(of: rect)
    }
}
