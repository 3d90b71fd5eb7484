/// One screen position: a character and how to draw it.
/// Wide characters are out of scope: every `Character` occupies exactly one cell.
public struct Cell: Equatable, Sendable {
    public var character: Character
    public var style: Style

    public init(_ character: Character = " ", style: Style = .normal) {
        self.character = character
        self.style = style
    }

    public static let blank = Cell()
}

/// An in-memory screen. Widgets draw here; `Terminal.draw` copies it to the terminal and tests
/// compare its `lines`. A value type: copying a grid gives an independent picture.
///
/// Every write is clipped to the grid (and to an optional `clip` rectangle), so drawing past an
/// edge or at negative coordinates is harmless and never traps.
public struct CellGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major: the cell at (x, y) is `cells[y * width + x]`.
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = [Cell](repeating: fill, count: self.width * self.height)
    }

    /// The whole grid as a rectangle at (0, 0).
    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// The cell at (x, y), or a blank cell outside the grid.
    public subscript(x x: Int, y y: Int) -> Cell {
        guard x >= 0, x < width, y >= 0, y < height else { return .blank }
        return cells[y * width + x]
    }

    /// The character at (x, y), or nil outside the grid.
    public func characterAt(x: Int, y: Int) -> Character? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        return cells[y * width + x].character
    }

    /// The style at (x, y), or nil outside the grid.
    public func styleAt(x: Int, y: Int) -> Style? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        return cells[y * width + x].style
    }

    /// Sets one cell; ignored outside the grid or outside `clip`.
    public mutating func set(_ character: Character, x: Int, y: Int, style: Style = .normal, clip: Rect? = nil) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        if let clip, !clip.contains(x: x, y: y) { return }
        cells[y * width + x] = Cell(character, style: style)
    }

    /// Changes only the style of one cell (keeps its character); ignored outside the grid.
    public mutating func restyle(x: Int, y: Int, style: Style) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        cells[y * width + x].style = style
    }

    /// Writes `text` left to right from (x, y), one cell per `Character`, clipped to the grid and
    /// to `clip`. Newlines are not interpreted (they are drawn as spaces).
    /// Returns the column after the last character (as if nothing were clipped).
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .normal, clip: Rect? = nil) -> Int {
        var column = x
        let area = clip.map { $0.intersection(bounds) } ?? bounds
        guard y >= area.y, y < area.maxY else { return x + text.count }
        let rowStart = y * width
        for character in text {
            if column >= area.maxX { column += 1; continue }
            if column >= area.x {
                cells[rowStart + column] = Cell(character.isNewline ? " " : character, style: style)
            }
            column += 1
        }
        return column
    }

    /// Writes `text` at (x, y) but never past `maxWidth` cells: a longer text is cut and ends in
    /// an ellipsis (`…`, or `~` in ASCII) so the reader sees that something is missing.
    @discardableResult
    public mutating func putTruncated(_ text: String, x: Int, y: Int, maxWidth: Int, style: Style = .normal,
                                      glyphs: GlyphSet = .unicode, clip: Rect? = nil) -> Int {
        put(TextFit.truncate(text, to: maxWidth, glyphs: glyphs), x: x, y: y, style: style, clip: clip)
    }

    /// Fills a rectangle (clipped to the grid) with one character and style.
    public mutating func fill(_ rect: Rect, with character: Character = " ", style: Style = .normal) {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return }
        let cell = Cell(character, style: style)
        for row in r.y..<r.maxY {
            let start = row * width
            for column in r.x..<r.maxX { cells[start + column] = cell }
        }
    }

    /// Copies `other` onto this grid with its top-left at (x, y), clipped.
    public mutating func blit(_ other: CellGrid, x: Int, y: Int) {
        let target = Rect(x: x, y: y, width: other.width, height: other.height).intersection(bounds)
        guard !target.isEmpty else { return }
        for row in target.y..<target.maxY {
            for column in target.x..<target.maxX {
                cells[row * width + column] = other.cells[(row - y) * other.width + (column - x)]
            }
        }
    }

    /// A copy of the part of this grid inside `rect` (clipped), as a grid of its own.
    public func subgrid(_ rect: Rect) -> CellGrid {
        let r = rect.intersection(bounds)
        var result = CellGrid(width: r.width, height: r.height)
        for row in 0..<r.height {
            for column in 0..<r.width {
                result.cells[row * r.width + column] = cells[(r.y + row) * width + r.x + column]
            }
        }
        return result
    }

    /// Draws into `rect` through a grid of the rectangle's size: `body` works in local
    /// coordinates from (0, 0) and cannot touch anything outside `rect`.
    public mutating func drawing(in rect: Rect, _ body: (inout CellGrid) -> Void) {
        var local = subgrid(rect)
        body(&local)
        let r = rect.intersection(bounds)
        blit(local, x: r.x, y: r.y)
    }

    /// The text of each row with trailing spaces trimmed, so tests can write expected screens
    /// literally without invisible whitespace. Styles are not included (see `styleAt`).
    public var lines: [String] {
        (0..<height).map { row in
            var text = String(rawLine(row))
            while text.last == " " { text.removeLast() }
            return text
        }
    }

    /// The text of row `y` at full width, trailing spaces kept.
    public func rawLine(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var text = ""
        text.reserveCapacity(width)
        for column in 0..<width { text.append(cells[y * width + column].character) }
        return text
    }

    /// All rows joined by newlines (trailing spaces trimmed), for text captures.
    public var text: String { lines.joined(separator: "\n") }
}
