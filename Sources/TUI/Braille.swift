/// Braille patterns (U+2800–U+28FF) as a 2 × 4 dot matrix per cell.
public enum Braille {
    /// Dot bits by column then row: the Unicode braille numbering is 1-2-3-7 down the left
    /// column and 4-5-6-8 down the right, with dot n at bit n - 1.
    static let bitTable: [[UInt8]] = [
        [0x01, 0x02, 0x04, 0x40],
        [0x08, 0x10, 0x20, 0x80],
    ]

    /// The bit for the dot at column `dx` (0...1), row `dy` (0...3, top to bottom).
    public static func bit(dx: Int, dy: Int) -> UInt8 {
        guard (0...1).contains(dx), (0...3).contains(dy) else { return 0 }
        return bitTable[dx][dy]
    }

    /// The braille character showing the dots in `bits` (0 gives the blank pattern U+2800).
    public static func character(_ bits: UInt8) -> Character {
        // 0x2800...0x28FF are all valid scalars, so the force-free fallback is never taken.
        Character(Unicode.Scalar(0x2800 + UInt32(bits)) ?? " ")
    }
}

/// A raster of dots over a block of cells, shared by the braille (2 × 4 dots per cell) and ASCII
/// (1 dot per cell) renderings of charts. Each cell remembers the last series that drew in it,
/// which decides its colour and, in ASCII, its marker.
struct DotCanvas {
    let columns: Int
    let rows: Int
    let dotsAcross: Int
    let dotsDown: Int
    private(set) var bits: [UInt8]
    private(set) var owner: [Int]

    init(columns: Int, rows: Int, glyphs: GlyphSet) {
        self.columns = max(0, columns)
        self.rows = max(0, rows)
        dotsAcross = glyphs == .unicode ? 2 : 1
        dotsDown = glyphs == .unicode ? 4 : 1
        bits = [UInt8](repeating: 0, count: self.columns * self.rows)
        owner = [Int](repeating: -1, count: self.columns * self.rows)
    }

    var dotWidth: Int { columns * dotsAcross }
    var dotHeight: Int { rows * dotsDown }

    mutating func plot(_ x: Int, _ y: Int, series: Int) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        let cell = (y / dotsDown) * columns + x / dotsAcross
        bits[cell] |= dotsAcross == 2 ? Braille.bit(dx: x % 2, dy: y % 4) : 1
        owner[cell] = series
    }

    /// Every dot in column `x` from row `y0` to `y1` inclusive.
    mutating func verticalSpan(_ x: Int, _ y0: Int, _ y1: Int, series: Int) {
        for y in min(y0, y1)...max(y0, y1) { plot(x, y, series: series) }
    }

    /// A straight line between two dots (Bresenham), both ends included.
    mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int), series: Int) {
        var x = start.x, y = start.y
        let dx = abs(end.x - x), dy = -abs(end.y - y)
        let sx = x < end.x ? 1 : -1, sy = y < end.y ? 1 : -1
        var error = dx + dy
        while true {
            plot(x, y, series: series)
            if x == end.x && y == end.y { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += sx }
            if doubled <= dx { error += dx; y += sy }
        }
    }
}
