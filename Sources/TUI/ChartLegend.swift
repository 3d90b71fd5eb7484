/// The legend row of a `LineChart`: `── train 0.412 ≈0.430  ●─ test 0.398`.
///
/// Fitting the width, in this order: everything; without smoothed values; with names cut
/// shorter and shorter (down to two characters); then whole entries dropped from the end.
struct ChartLegend {
    var series: [ChartSeries]
    var glyphs: GlyphSet
    /// Appended when it fits, e.g. "(3 non-finite skipped)".
    var note: String?

    static func sample(for series: ChartSeries, index: Int, glyphs: GlyphSet) -> String {
        switch (series.style, glyphs) {
        case (.line, .unicode): return "──"
        case (.line, .ascii):
            return String(repeating: series.asciiGlyph ?? LineChart.asciiMarkers[index % LineChart.asciiMarkers.count], count: 2)
        case (.markers, .unicode): return "─●"
        case (.markers, .ascii): return ".O"
        }
    }

    struct Entry {
        var sample: String
        var label: String
        var latest: String?
        var smoothed: String?
        var width: Int {
            sample.count + 1 + label.count + (latest.map { 1 + $0.count } ?? 0) + (smoothed.map { 2 + $0.count } ?? 0)
        }
    }

    /// The entries as they will be drawn in `width` cells.
    func fitted(width: Int) -> [Entry] { fitted(width: width, count: listed.count) }

    /// Indices of the series that have a legend entry.
    var listed: [Int] { series.indices.filter { series[$0].inLegend } }

    /// The first `count` listed series fitted; when even two-character names do not fit, one series fewer.
    private func fitted(width: Int, count: Int) -> [Entry] {
        guard count > 0 else { return [] }
        let indices = Array(listed.prefix(count))
        let series = indices.map { self.series[$0] }
        var entries = zip(indices, series).map { i, s in
            Entry(sample: ChartLegend.sample(for: s, index: i, glyphs: glyphs), label: s.label,
                  latest: s.readout?.latest, smoothed: s.readout?.smoothed)
        }
        func total(_ e: [Entry]) -> Int { e.reduce(0) { $0 + $1.width } + 2 * max(0, e.count - 1) }
        if total(entries) <= width { return entries }
        for i in entries.indices { entries[i].smoothed = nil }
        if total(entries) <= width { return entries }
        let full = series.map(\.label)
        let longest = full.map(\.count).max() ?? 0
        var cut = longest - 1
        while cut >= 2 {
            for i in entries.indices { entries[i].label = TextFit.truncate(full[i], to: cut, glyphs: glyphs) }
            if total(entries) <= width { return entries }
            cut -= 1
        }
        return fitted(width: width, count: count - 1)
    }

    func render(into grid: inout CellGrid, row: Rect) {
        var x = row.x
        let entries = fitted(width: row.width)
        let approx = glyphs == .unicode ? "≈" : "~"
        for (i, e) in zip(listed, entries) {
            let role = series[i].role
            x = grid.put(e.sample, x: x, y: row.y, style: Style(role, bold: true), clip: row)
            x = grid.put(" " + e.label, x: x, y: row.y, style: Style(.label), clip: row)
            if let latest = e.latest { x = grid.put(" " + latest, x: x, y: row.y, style: Style(role, bold: true), clip: row) }
            if let smoothed = e.smoothed { x = grid.put(" " + approx + smoothed, x: x, y: row.y, style: Style(.dim), clip: row) }
            x += 2
        }
        if let note, x + note.count <= row.maxX { grid.put(note, x: x, y: row.y, style: Style(.warn), clip: row) }
    }
}
