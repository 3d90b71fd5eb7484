import Foundation
import Engine
import TUI

/// The race's panels: loss and accuracy of every run on the same axes (a colour per run, a
/// glyph per run in ASCII, a legend row per run block with latest and smoothed values, test
/// points and change markers per run), and the scoreboard. Pure, like `WorkbenchView`.
enum RaceView {
    /// The ASCII character of run slot `n` (its line and legend sample).
    static let glyphs: [Character] = ["*", "o", "+", "x", "#", "@", "%", "&"]

    static func role(_ slot: Int) -> ColorRole { .series(slot) }

    static func glyph(_ slot: Int) -> Character { glyphs[slot % glyphs.count] }

    /// A run's points from its fork step on (a branch is drawn from where it left its source).
    static func seriesPoints(_ m: [MetricPoint], _ s: AppState, fork: Int?) -> [ChartPoint] {
        m.compactMap { p in
            guard p.step >= (fork ?? Int.min) else { return nil }
            return WorkbenchView.xValue(step: p.step, seconds: p.seconds, s).map { ChartPoint(x: $0, y: p.value) }
        }
    }

    static func spanPoints(_ series: MetricSeries, _ s: AppState, fork: Int?) -> [ChartPoint] {
        series.spans.compactMap { b in
            guard b.step >= (fork ?? Int.min) else { return nil }
            return WorkbenchView.xValue(step: b.step, seconds: b.seconds, s).map {
                b.min == b.max ? ChartPoint(x: $0, y: b.mean) : ChartPoint(x: $0, y: b.mean, low: b.min, high: b.max)
            }
        }
    }

    /// Each run's changes as markers in its colour, labelled with its number (`2:lr×2`):
    /// a change lands on the runs it was applied to only. A branch shows its fork.
    static func markers(_ s: AppState, _ board: RaceBoard) -> [ChartMarker] {
        var out: [ChartMarker] = []
        for (i, r) in board.runs.enumerated() {
            let t = r.telemetry
            var last: [String: Int] = [:]
            for (j, e) in t.events.enumerated() { if let label = e.marker { last["\(e.step) \(WorkbenchView.markerKind(label))"] = j } }
            for (j, e) in t.events.enumerated() {
                guard let label = e.marker, last["\(e.step) \(WorkbenchView.markerKind(label))"] == j,
                      e.step >= (r.forkStep ?? Int.min) else { continue }
                // Every run of a reopened race says "opened" (and "resumed" with overrides) at the
                // same step: one marker says it.
                if label == "opened" || label == "resumed", i > 0 { continue }
                guard let x = s.timeAxis ? WorkbenchView.seconds(atStep: e.step, in: t) : Double(e.step) else { continue }
                out.append(ChartMarker(x: x, label: WorkbenchView.markerLabel("\(i + 1):\(label)", glyphs: s.glyphs),
                                       role: e.level == .error ? .error : role(r.slot)))
            }
        }
        return out
    }

    /// The x range of the window, from the runs' furthest step (nil: everything).
    static func xRange(_ s: AppState, _ board: RaceBoard) -> ClosedRange<Double>? {
        guard let n = s.chartWindow.steps else { return nil }
        let lasts = board.runs.compactMap { $0.telemetry.history.trainLoss.last }
        guard let last = lasts.max(by: { $0.step < $1.step }), last.step > n else { return nil }
        if s.timeAxis {
            let his = lasts.compactMap(\.seconds)
            let los = board.runs.compactMap { WorkbenchView.seconds(atStep: last.step - n, in: $0.telemetry) }
            guard let lo = los.min(), let hi = his.max(), lo < hi else { return nil }
            return lo...hi
        }
        return Double(last.step - n)...Double(last.step)
    }

    /// A legend entry: sample, name (with its number), latest and smoothed value.
    struct LegendEntry {
        var sample: String
        var text: String
        /// Latest, smoothed, test: dropped from the end when the legend is short of room.
        var values: [String]
        var role: ColorRole
        var shown: String { values.joined(separator: " ") }
        var width: Int { (sample.isEmpty ? 0 : sample.count + 1) + text.count + (values.isEmpty ? 0 : 1 + shown.count) }
    }

    static func sample(slot: Int?, markers: Bool, glyphs: GlyphSet) -> String {
        if glyphs == .ascii { return markers ? ".O" : String(repeating: slot.map(glyph) ?? "-", count: 2) }
        return markers ? "─●" : "──"
    }

    /// Entries packed into at most `rows` rows; when they do not fit, values are dropped first.
    static func legendRows(_ entries: [LegendEntry], width: Int, rows: Int, glyphs: GlyphSet) -> [[LegendEntry]] {
        func pack(_ list: [LegendEntry]) -> [[LegendEntry]] {
            var out: [[LegendEntry]] = [[]]
            var used = 0
            for e in list {
                if !out[out.count - 1].isEmpty, used + 2 + e.width > width { out.append([]); used = 0 }
                used += (out[out.count - 1].isEmpty ? 0 : 2) + e.width
                out[out.count - 1].append(e)
            }
            return out
        }
        var list = entries
        let most = entries.map(\.values.count).max() ?? 0
        for keep in stride(from: most, through: 0, by: -1) {
            list = entries.map { var e = $0; e.values = Array(e.values.prefix(keep)); return e }
            let packed = pack(list)
            if packed.count <= rows { return packed }
        }
        // Then shorter names; then the name itself in the run's colour stands for the sample;
        // down to the run's number and a letter or two (every run stays listed). In Unicode
        // every sample is the same `──` in the run's colour, which the coloured name says as
        // well, so whole names go without samples before any name is cut ("▸1 co…" told
        // nothing); in ASCII the sample is the run's glyph on the chart and stays longer.
        let steps = glyphs == .unicode ? [(10, true), (10, false), (6, false), (4, false), (3, false)]
                                       : [(10, true), (6, true), (6, false), (4, false), (3, false)]
        for (cut, keepSample) in steps {
            let short = list.map { e -> LegendEntry in
                var e = e
                e.text = TextFit.truncate(e.text, to: cut, glyphs: glyphs)
                if !keepSample { e.sample = "" }
                return e
            }
            let packed = pack(short)
            if packed.count <= rows { return packed }
            list = short
        }
        return Array(pack(list).prefix(rows))
    }

    static func drawLegend(_ rows: [[LegendEntry]], into grid: inout CellGrid, at rect: Rect, glyphs: GlyphSet) {
        for (i, row) in rows.enumerated() where i < rect.height {
            var x = rect.x
            let line = Rect(x: rect.x, y: rect.y + i, width: rect.width, height: 1)
            for e in row {
                if e.sample.isEmpty {
                    x = grid.put(e.text, x: x, y: line.y, style: Style(e.role, bold: true), clip: line)
                } else {
                    x = grid.put(e.sample, x: x, y: line.y, style: Style(e.role, bold: true), clip: line)
                    x = grid.put(" " + e.text, x: x, y: line.y, style: Style(.label), clip: line)
                }
                if !e.values.isEmpty { x = grid.put(" " + e.shown, x: x, y: line.y, style: Style(e.role, bold: true), clip: line) }
                x += 2
            }
        }
    }

    /// Rows the legend may take in a chart of `height` inner rows (the plot keeps at least 4).
    static func legendBudget(_ height: Int, runs: Int) -> Int { max(1, min(runs, (height - 4) / 2)) }

    /// The ghosts' curves, dimmed (train loss; test accuracy as points). One legend entry
    /// names them all: the live runs' entries matter more.
    static func ghostSeries(_ s: AppState, accuracy: Bool) -> [ChartSeries] {
        let label = "ghost " + TextFit.truncate(s.ghosts.map(\.name).joined(separator: ", "), to: 40, glyphs: s.glyphs)
        return s.ghosts.enumerated().map { i, g in
            var series = accuracy
                ? ChartSeries(label: label, role: .dim, points: spanPoints(g.history.testAccuracy, s, fork: nil), style: .markers)
                : ChartSeries(label: label, role: .dim, points: spanPoints(g.history.trainLoss, s, fork: nil))
            series.asciiGlyph = ":"
            series.inLegend = i == 0
            return series
        }
    }

    /// Loss (`accuracy` false) or accuracy of every run, overlaid.
    static func chart(_ s: AppState, _ board: RaceBoard, accuracy: Bool, into grid: inout CellGrid, in rect: Rect) {
        let title = accuracy ? "Accuracy · all runs" + WorkbenchView.viewNote(s)
            : "Loss · all runs" + (s.logScaleLoss ? " · log" : "") + WorkbenchView.viewNote(s)
        let inner = Panel(title: title, focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        let format: ValueFormat = accuracy ? .percent : .number
        let approx = s.glyphs == .unicode ? "≈" : "~"
        var series: [ChartSeries] = []
        var entries: [LegendEntry] = []
        for (i, r) in board.runs.enumerated() {
            let h = r.telemetry.history
            let smoothed = accuracy ? r.smoother.accuracy : r.smoother.loss
            var line = s.smoothing > 0
                ? ChartSeries(label: r.name, role: role(r.slot), points: seriesPoints(smoothed, s, fork: r.forkStep))
                : ChartSeries(label: r.name, role: role(r.slot), points: spanPoints(accuracy ? h.trainAccuracy : h.trainLoss, s, fork: r.forkStep))
            line.asciiGlyph = glyph(r.slot)
            series.append(line)
            var test = ChartSeries(label: r.name + " test", role: role(r.slot),
                                   points: spanPoints(accuracy ? h.testAccuracy : h.testLoss, s, fork: r.forkStep), style: .markers)
            test.inLegend = false
            series.append(test)
            var values: [String] = []
            if let latest = (accuracy ? h.trainAccuracy : h.trainLoss).last?.value { values.append(format.readout(latest, glyphs: s.glyphs)) }
            if s.smoothing > 0, let m = smoothed.last?.value { values.append(approx + format.readout(m, glyphs: s.glyphs)) }
            if let t = (accuracy ? h.testAccuracy : h.testLoss).last?.value { values.append("test " + format.readout(t, glyphs: s.glyphs)) }
            let focusMark = i == board.focused ? (s.glyphs == .unicode ? "▸" : ">") : ""
            let fork = r.forkedFrom.map { (s.glyphs == .unicode ? " ⑂" : " fork ") + "\($0)@\(r.forkStep ?? 0)" } ?? ""
            entries.append(LegendEntry(sample: sample(slot: r.slot, markers: false, glyphs: s.glyphs),
                                       text: s.glyphs.text("\(focusMark)\(i + 1) \(r.name)") + WorkbenchView.markerLabel(fork, glyphs: s.glyphs),
                                       values: values, role: role(r.slot)))
        }
        let ghosts = ghostSeries(s, accuracy: accuracy)
        if let first = ghosts.first {
            entries.append(LegendEntry(sample: sample(slot: nil, markers: accuracy, glyphs: s.glyphs), text: first.label, values: [], role: .dim))
        }
        let rows = legendRows(entries, width: inner.width, rows: legendBudget(inner.height, runs: board.runs.count), glyphs: s.glyphs)
        let (legend, plot) = inner.splitTop(min(rows.count, max(0, inner.height - 3)))
        drawLegend(rows, into: &grid, at: legend, glyphs: s.glyphs)
        LineChart(series: ghosts + series, xRange: xRange(s, board), glyphs: s.glyphs, showLegend: false,
                  emptyMessage: "waiting for the first step…", markers: markers(s, board), yFit: .robust(trim: 0.02),
                  logY: accuracy ? false : s.logScaleLoss, xFormat: s.timeAxis ? .duration : .number,
                  yFormat: accuracy ? .percent : .number).render(into: &grid, in: plot)
    }

    // MARK: scoreboard

    /// A scoreboard column: its title, its cells, how much it matters when room is short.
    struct Column {
        var title: String
        var cells: [String]
        var priority: Int
        var alignLeft = false
        var width: Int { max(title.count, cells.map(\.count).max() ?? 0) }
    }

    static func scoreboardHeight(runs: Int) -> Int { runs + 3 }

    /// The layer shown in the angle view (its median θ is a scoreboard column).
    static func angleLayer(_ s: AppState) -> String? {
        let layers = WorkbenchView.layersShown(s.telemetry)
        return layers.indices.contains(s.selectedLayer) ? layers[s.selectedLayer].layer : nil
    }

    static func scoreboard(_ s: AppState, _ board: RaceBoard, into grid: inout CellGrid, in rect: Rect) {
        let sortNote = board.sort == .order ? "" : " · sorted by \(board.sort == .theta ? "θ" : board.sort.title) (>)"
        let arrow = s.glyphs == .unicode ? "→" : "->"
        let target = board.applyToAll ? "changes \(arrow) ALL runs" : "changes \(arrow) \(board.focusedName ?? "-") only"
        let inner = Panel(title: "Scoreboard" + sortNote + " · " + target, glyphs: s.glyphs).render(into: &grid, in: rect)
        let rows = board.rows(layer: angleLayer(s))
        let dash = s.glyphs == .unicode ? "–" : "-"
        let lossTitle = s.glyphs.text("loss≈")
        let thetaTitle = s.glyphs.text("θ med")   // measured as drawn: "theta med" in ASCII
        func percent(_ v: Double?) -> String { v.map { ValueFormat.percent.readout($0, glyphs: s.glyphs) } ?? dash }
        var columns = [
            Column(title: "#", cells: rows.map { ($0.number - 1 == board.focused ? (s.glyphs == .unicode ? "▸" : ">") : " ") + "\($0.number)" }, priority: 10),
            Column(title: "run", cells: rows.map { $0.score.name }, priority: 10, alignLeft: true),
            Column(title: "step", cells: rows.map { "\($0.score.step)" }, priority: 9),
            Column(title: lossTitle, cells: rows.map { $0.score.smoothedLoss.map { String(format: "%.4f", $0) } ?? dash }, priority: 8),
            Column(title: "test", cells: rows.map { percent($0.score.lastTestAccuracy) }, priority: 9),
            Column(title: "best", cells: rows.map { percent($0.score.bestTestAccuracy) }, priority: 8),
        ]
        for (i, t) in board.thresholds.enumerated() {
            columns.append(Column(title: String(format: "to %g%%", 100 * t), cells: rows.map { r in
                r.score.reached[i].map { "\($0.step) / " + ProgressBar.duration($0.seconds) } ?? dash
            }, priority: 7 - i))
        }
        columns.append(Column(title: "img/s", cells: rows.map { WorkbenchView.rate($0.score.imagesPerSecond, dash: dash) }, priority: 6))
        columns.append(Column(title: thetaTitle, cells: rows.map { $0.theta.map { WorkbenchView.degrees($0, s.glyphs) } ?? dash }, priority: 5))
        // Drop the least important columns until the rest fit.
        func total(_ c: [Column]) -> Int { c.reduce(0) { $0 + $1.width } + 2 * max(0, c.count - 1) }
        while total(columns) > inner.width, let drop = columns.indices.min(by: { columns[$0].priority < columns[$1].priority }),
              columns[drop].priority < 10 {
            columns.remove(at: drop)
        }
        let sortedTitle: String? = {
            switch board.sort {
            case .order: return nil
            case .name: return "run"
            case .step: return "step"
            case .loss: return lossTitle
            case .lastTest: return "test"
            case .bestTest: return "best"
            case .threshold(let i): return i < board.thresholds.count ? String(format: "to %g%%", 100 * board.thresholds[i]) : nil
            case .speed: return "img/s"
            case .theta: return thetaTitle
            }
        }()
        func line(_ cells: [String]) -> String {
            zip(columns, cells).map { c, text in
                let pad = String(repeating: " ", count: max(0, c.width - text.count))
                return c.alignLeft ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        let header = line(columns.map(\.title))
        grid.putTruncated(header, x: inner.x, y: inner.y, maxWidth: inner.width, style: Style(.label, bold: true), glyphs: s.glyphs)
        if let sortedTitle, let c = columns.firstIndex(where: { $0.title == sortedTitle }) {
            // Underline the sort column's title by reversing it.
            let x = inner.x + columns[..<c].reduce(0) { $0 + $1.width + 2 } + (columns[c].alignLeft ? 0 : columns[c].width - sortedTitle.count)
            grid.putTruncated(sortedTitle, x: x, y: inner.y, maxWidth: max(0, inner.maxX - x), style: Style(.label, bold: true, reverse: true), glyphs: s.glyphs)
        }
        for (i, r) in rows.enumerated() where inner.y + 1 + i < inner.maxY {
            let cells = columns.map { $0.cells[i] }
            let focused = r.number - 1 == board.focused
            let text = line(cells)
            grid.putTruncated(text, x: inner.x, y: inner.y + 1 + i, maxWidth: inner.width, style: Style(role(r.slot), bold: focused), glyphs: s.glyphs)
        }
    }

    // MARK: header and dialogs

    static func headerLine(_ s: AppState, _ board: RaceBoard) -> String {
        let focused = board.focusedName ?? "–"
        return "race of \(board.runs.count) · focus \(board.focused + 1) \(focused) · changes \(s.glyphs == .unicode ? "→" : "->") " + (board.applyToAll ? "ALL" : focused)
    }

    static func dialog(_ s: AppState) -> Dialog? {
        switch s.overlay {
        case .runSpec(let d):
            let title: String
            var lines: [String]
            switch d.kind {
            case .add:
                title = "Add a contender (from the start, same seed)"
                lines = ["Run spec: key=value words, e.g. name=x variant=sigmoid lr=0.002"]
            case .branch(let of, let step):
                title = "Branch \(of) at step \(step)"
                lines = ["Changes from here on (empty: none), e.g. name=\(of)-sig variant=sigmoid"]
            }
            lines.append("keys: " + RaceBoard.specKeys(d.kind).joined(separator: " "))
            lines.append("> " + d.text + "▏")
            if let e = d.error { lines.append("⚠ " + e) }
            let verb: String
            if case .branch = d.kind { verb = "branch" } else { verb = "add" }
            return Dialog(title: title, content: .text(lines), footer: "enter \(verb) · esc cancel", maxContentWidth: 76, glyphs: s.glyphs)
        case .confirmRemove(let name):
            return Dialog(title: "Remove a contender", content: .text(["Remove \(name) from the race?", "Its unsaved steps are lost (saved races keep theirs)."]),
                          footer: "y remove · n keep", glyphs: s.glyphs)
        case .thresholds(let text, let error):
            var lines = ["Test accuracy thresholds in % (1 to 4), e.g. 80 85 88:", "> " + text + "▏"]
            if let error { lines.append("⚠ " + error) }
            return Dialog(title: "Scoreboard thresholds", content: .text(lines), footer: "enter apply · esc cancel", glyphs: s.glyphs)
        case .ghostPicker(let list, let selected):
            return Dialog(title: "Ghost: overlay saved curves", content: .pickList(items: list.map { "\($0.name)  \($0.detail)" }, selected: selected),
                          footer: "↑↓ choose · enter overlay · esc cancel", maxContentWidth: 76, glyphs: s.glyphs)
        default:
            return nil
        }
    }
}
