/// One part of a priority layout along a line (rows of a screen, or columns of a row).
public struct LayoutSlot: Equatable, Sendable {
    /// Below this the part is useless: it gets at least this much or is left out.
    public var minimum: Int
    /// It never grows past this (nil: no limit), e.g. a help bar of one row.
    public var maximum: Int?
    /// Share of the space left after minimums (0: stays at its minimum).
    public var weight: Int
    /// When the minimums do not fit, lower priorities are left out first (ties: the later one).
    public var priority: Int

    public init(minimum: Int, maximum: Int? = nil, weight: Int = 1, priority: Int = 0) {
        self.minimum = max(0, minimum)
        self.maximum = maximum.map { max($0, max(0, minimum)) }
        self.weight = max(0, weight)
        self.priority = priority
    }

    /// A fixed size that never grows: a header or help bar.
    public static func fixed(_ n: Int, priority: Int = 0) -> LayoutSlot {
        LayoutSlot(minimum: n, maximum: n, weight: 0, priority: priority)
    }
}

/// Lays parts out by priority so a screen works at every size: every part that is kept gets
/// its minimum, parts that cannot get theirs are dropped lowest priority first, and the space
/// left over is shared by weight (up to each part's maximum). Pure rect arithmetic: the
/// workbench decides what the parts are.
public enum Layout {
    /// Lengths along a line of `total` cells with `gap` cells between kept parts; nil for a
    /// dropped part.
    public static func lengths(_ slots: [LayoutSlot], total: Int, gap: Int = 0) -> [Int?] {
        var kept = Array(slots.indices)
        func needed(_ k: [Int]) -> Int { k.reduce(0) { $0 + slots[$1].minimum } + max(0, gap) * max(0, k.count - 1) }
        while !kept.isEmpty && needed(kept) > total {
            let victim = kept.indices.min { a, b in
                let (pa, pb) = (slots[kept[a]].priority, slots[kept[b]].priority)
                return pa != pb ? pa < pb : a > b
            }!
            kept.remove(at: victim)
        }
        var length = [Int?](repeating: nil, count: slots.count)
        for i in kept { length[i] = slots[i].minimum }
        var spare = total - needed(kept)
        // Water-filling: share by weight, cap at maximums, repeat with what the capped ones left.
        while spare > 0 {
            let growing = kept.filter { i in slots[i].weight > 0 && (slots[i].maximum.map { length[i]! < $0 } ?? true) }
            guard !growing.isEmpty else { break }
            let totalWeight = growing.reduce(0) { $0 + slots[$1].weight }
            var given = 0
            for i in growing {
                let room = slots[i].maximum.map { $0 - length[i]! } ?? Int.max
                let share = min(room, spare * slots[i].weight / totalWeight)
                length[i]! += share
                given += share
            }
            if given == 0 {  // shares rounded to zero: one cell to the first that can grow
                length[growing[0]]! += 1
                given = 1
            }
            spare -= given
        }
        return length
    }

    /// `rect` split into rows (top to bottom) by `slots`; nil for a dropped part.
    public static func rows(_ rect: Rect, _ slots: [LayoutSlot], gap: Int = 0) -> [Rect?] {
        var y = rect.y
        return lengths(slots, total: rect.height, gap: gap).map { length in
            guard let length else { return nil }
            defer { y += length + gap }
            return Rect(x: rect.x, y: y, width: rect.width, height: length)
        }
    }

    /// `rect` split into columns (left to right) by `slots`; nil for a dropped part.
    public static func columns(_ rect: Rect, _ slots: [LayoutSlot], gap: Int = 0) -> [Rect?] {
        var x = rect.x
        return lengths(slots, total: rect.width, gap: gap).map { length in
            guard let length else { return nil }
            defer { x += length + gap }
            return Rect(x: x, y: rect.y, width: length, height: rect.height)
        }
    }
}
