/// Where the labels of chart markers go on the few rows at the top of a plot, so that none
/// overwrites another: each label sits right of its rule (left of it at the right edge), moves
/// down a row ("lane") when the row is taken, and is cut short (with an ellipsis) when every
/// lane is taken; a label with no room for two characters is left out (its rule still shows).
enum MarkerLabels {
    struct Placed: Equatable {
        var start: Int
        var lane: Int
        var text: String
    }

    /// `items` are (column of the rule, label) in plot columns 0..<width; returns one entry per
    /// item that got a place, in the order given.
    static func place(_ items: [(column: Int, text: String)], width: Int, lanes: Int,
                      glyphs: GlyphSet) -> [Placed?] {
        guard width > 0, lanes > 0 else { return items.map { _ in nil } }
        // Occupied [start, end) intervals per lane; a one-cell gap is kept between labels.
        var taken = [[Range<Int>]](repeating: [], count: lanes)
        func free(_ r: Range<Int>, lane: Int) -> Bool {
            taken[lane].allSatisfy { $0.upperBound + 1 <= r.lowerBound || r.upperBound + 1 <= $0.lowerBound }
        }
        func span(column: Int, length: Int) -> Range<Int> {
            var start = column + 1
            if start + length > width { start = column - length }
            start = min(max(start, 0), max(0, width - length))
            return start..<(start + min(length, width))
        }
        var result: [Placed?] = []
        for item in items {
            let text = TextFit.truncate(item.text, to: width, glyphs: glyphs)
            var placed: Placed?
            for lane in 0..<lanes {
                let r = span(column: item.column, length: text.count)
                if free(r, lane: lane) { placed = Placed(start: r.lowerBound, lane: lane, text: text); break }
            }
            if placed == nil {
                // Abbreviate: the longest prefix that fits right of the rule before the next label.
                for lane in 0..<lanes {
                    let start = min(item.column + 1, width - 1)
                    let next = taken[lane].filter { $0.lowerBound > start }.map(\.lowerBound).min() ?? (width + 1)
                    let previousEnd = taken[lane].filter { $0.lowerBound <= start }.map(\.upperBound).max() ?? Int.min
                    let room = min(next - 1, width) - start
                    guard previousEnd + 1 <= start, room >= 2 else { continue }
                    placed = Placed(start: start, lane: lane, text: TextFit.truncate(text, to: room, glyphs: glyphs))
                    break
                }
            }
            if let p = placed { taken[p.lane].append(p.start..<(p.start + p.text.count)) }
            result.append(placed)
        }
        return result
    }
}
