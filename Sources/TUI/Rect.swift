/// A rectangle of cells: origin at the top-left, `x` to the right, `y` down.
/// Width and height are never negative (the initialiser clamps them to 0).
public struct Rect: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)

    /// One past the right-most column.
    public var maxX: Int { x + width }
    /// One past the bottom row.
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var area: Int { width * height }

    public var description: String { "Rect(x: \(x), y: \(y), \(width)×\(height))" }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// The overlap of two rectangles (empty, positioned at the clamped origin, if none).
    public func intersection(_ other: Rect) -> Rect {
        let nx = max(x, other.x), ny = max(y, other.y)
        return Rect(x: nx, y: ny, width: min(maxX, other.maxX) - nx, height: min(maxY, other.maxY) - ny)
    }

    /// Shrinks every side by `n` cells (for borders and padding).
    public func inset(by n: Int) -> Rect {
        inset(top: n, left: n, bottom: n, right: n)
    }

    public func inset(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) -> Rect {
        Rect(x: x + left, y: y + top, width: width - left - right, height: height - top - bottom)
    }

    /// A rectangle of the given size centred inside this one (clamped to fit).
    public func centered(width w: Int, height h: Int) -> Rect {
        let cw = min(max(0, w), width), ch = min(max(0, h), height)
        return Rect(x: x + (width - cw) / 2, y: y + (height - ch) / 2, width: cw, height: ch)
    }

    // MARK: Splitting

    /// How much of a split one part takes.
    public enum Size: Equatable, Sendable {
        /// Exactly `n` cells (or what is left, if less).
        case fixed(Int)
        /// A fraction of the whole length, 0...1, rounded down.
        case ratio(Double)
        /// A share of whatever the fixed and ratio parts leave, by weight.
        case fill(Int)
    }

    /// Splits into horizontal bands stacked top to bottom.
    public func rows(_ sizes: [Size], gap: Int = 0) -> [Rect] {
        Rect.lengths(sizes, total: height, gap: gap).map { part in
            Rect(x: x, y: y + part.offset, width: width, height: part.length)
        }
    }

    /// Splits into vertical bands placed left to right.
    public func columns(_ sizes: [Size], gap: Int = 0) -> [Rect] {
        Rect.lengths(sizes, total: width, gap: gap).map { part in
            Rect(x: x + part.offset, y: y, width: part.length, height: height)
        }
    }

    /// The top `n` rows and the rest.
    public func splitTop(_ n: Int) -> (top: Rect, rest: Rect) {
        let r = rows([.fixed(n), .fill(1)])
        return (r[0], r[1])
    }

    /// The bottom `n` rows and the rest.
    public func splitBottom(_ n: Int) -> (rest: Rect, bottom: Rect) {
        let r = rows([.fill(1), .fixed(n)])
        return (r[0], r[1])
    }

    /// The left `n` columns and the rest.
    public func splitLeft(_ n: Int) -> (left: Rect, rest: Rect) {
        let c = columns([.fixed(n), .fill(1)])
        return (c[0], c[1])
    }

    /// The right `n` columns and the rest.
    public func splitRight(_ n: Int) -> (rest: Rect, right: Rect) {
        let c = columns([.fill(1), .fixed(n)])
        return (c[0], c[1])
    }

    /// Lays `sizes` out along a line of `total` cells with `gap` empty cells between parts.
    /// Fixed parts are served first (in order, until space runs out), then ratios of the whole,
    /// then fills share the remainder by weight; the last fill absorbs rounding.
    static func lengths(_ sizes: [Size], total: Int, gap: Int) -> [(offset: Int, length: Int)] {
        guard !sizes.isEmpty else { return [] }
        let gaps = max(0, gap) * (sizes.count - 1)
        var remaining = max(0, total - gaps)
        let whole = remaining
        var lengths = [Int](repeating: 0, count: sizes.count)
        for (i, size) in sizes.enumerated() {
            if case .fixed(let n) = size {
                lengths[i] = min(max(0, n), remaining)
                remaining -= lengths[i]
            }
        }
        for (i, size) in sizes.enumerated() {
            if case .ratio(let r) = size {
                let share = r.isFinite ? Int((Double(whole) * min(max(r, 0), 1)).rounded(.down)) : 0
                lengths[i] = min(share, remaining)
                remaining -= lengths[i]
            }
        }
        let weights = sizes.map { size -> Int in
            if case .fill(let w) = size { return max(0, w) }
            return 0
        }
        let totalWeight = weights.reduce(0, +)
        if totalWeight > 0 {
            let pool = remaining
            var lastFill = -1
            for (i, w) in weights.enumerated() where w > 0 {
                lengths[i] = pool * w / totalWeight
                remaining -= lengths[i]
                lastFill = i
            }
            lengths[lastFill] += remaining
        }
        var offset = 0
        var result: [(offset: Int, length: Int)] = []
        result.reserveCapacity(sizes.count)
        for (i, length) in lengths.enumerated() {
            let start = min(offset, total)
            result.append((start, min(length, total - start)))
            offset += length + (i < lengths.count - 1 ? max(0, gap) : 0)
        }
        return result
    }
}
