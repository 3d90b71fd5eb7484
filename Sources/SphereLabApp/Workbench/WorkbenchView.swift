import Foundation
import Engine
import TUI

/// Renders the workbench screen from the app state into a cell grid. Pure: no state changes,
/// no terminal calls; tests compare its output line by line.
public enum WorkbenchView {
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    public static func render(_ s: AppState, width: Int, height: Int) -> CellGrid {
        var grid = CellGrid(width: max(0, width), height: max(0, height))
        guard width >= minimumWidth, height >= minimumHeight else {
            Notice.terminalTooSmall(width: width, height: height, minimumWidth: minimumWidth, minimumHeight: minimumHeight,
                                    glyphs: s.glyphs)
                .render(into: &grid, in: grid.bounds)
            return grid
        }
        let l = layout(s, width: width, height: height)
        header(s, into: &grid, in: l.header)
        if let r = l.classes { classes(s, into: &grid, in: r) }
        if let board = s.race {
            if let r = l.loss { RaceView.chart(s, board, accuracy: false, into: &grid, in: r) }
            if let r = l.accuracy { RaceView.chart(s, board, accuracy: true, into: &grid, in: r) }
            if let r = l.scoreboard { RaceView.scoreboard(s, board, into: &grid, in: r) }
        } else {
            if let r = l.loss { lossChart(s, into: &grid, in: r) }
            if let r = l.accuracy { accuracyChart(s, into: &grid, in: r) }
        }
        if let r = l.angles { angles(s, into: &grid, in: r) }
        if let r = l.controls { controls(s, into: &grid, in: r) }
        if let r = l.results { results(s, into: &grid, in: r) }
        if let r = l.log { log(s, into: &grid, in: r) }
        if l.log == nil, let status = s.status {
            statusBar(status, s, into: &grid, in: l.help)
        } else {
            HelpBar(hints: s.race == nil ? KeyMap.hints : KeyMap.raceHints, glyphs: s.glyphs).render(into: &grid, in: l.help)
        }
        overlay(s, into: &grid)
        return grid
    }

    /// The key bar when there is no event log on screen (a race at 80×24): the status line
    /// (what the last key did) takes the bar until the next key, `? help` and `q quit` stay.
    static func statusBar(_ status: String, _ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        guard !rect.isEmpty else { return }
        let keys = HelpBar(hints: [KeyHint("?", "help"), KeyHint("q", "quit")], glyphs: s.glyphs)
        let keysWidth = "? help  q quit".count
        let text = "» " + status
        let room = max(0, rect.width - keysWidth - 2)
        grid.put(TextFit.truncate(text, to: room, glyphs: s.glyphs), x: rect.x, y: rect.y, style: Style(.accent),
                 clip: Rect(x: rect.x, y: rect.y, width: room, height: 1))
        keys.render(into: &grid, in: Rect(x: rect.maxX - keysWidth, y: rect.y, width: keysWidth, height: 1))
    }

    // MARK: layout

    /// Where each panel goes at a size; nil for a panel left out. Pure: the view draws it and
    /// the mouse handler hit-tests it.
    public struct ScreenLayout: Equatable, Sendable {
        public var header = Rect(x: 0, y: 0, width: 0, height: 0)
        public var loss: Rect?
        public var accuracy: Rect?
        public var classes: Rect?
        public var angles: Rect?
        public var controls: Rect?
        public var results: Rect?
        /// The race's scoreboard (race mode only).
        public var scoreboard: Rect?
        public var log: Rect?
        public var help = Rect(x: 0, y: 0, width: 0, height: 0)

        /// The focusable panel under a cell.
        public func panel(atX x: Int, y: Int) -> Focus? {
            func hit(_ r: Rect?) -> Bool { r.map { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY } ?? false }
            if hit(loss) || hit(accuracy) || hit(classes) { return .charts }
            if hit(angles) { return .angles }
            if hit(controls) || hit(results) { return .controls }
            if hit(log) { return .log }
            return nil
        }
    }

    /// Rows of the controls panel (its form and borders).
    static var controlsHeight: Int { Control.allCases.count + 2 }

    /// Lays the screen out by priority: the header and the key bar always; the charts first,
    /// then the controls, then the angles; the event log grows with the height; below the
    /// controls, when there is room, the latest results.
    public static func layout(_ s: AppState, width: Int, height: Int) -> ScreenLayout {
        var l = ScreenLayout()
        guard width >= minimumWidth, height >= minimumHeight else { return l }
        let bounds = Rect(x: 0, y: 0, width: width, height: height)
        // A race puts its scoreboard between the body and the log (the log gives way first).
        let board = s.race.map { LayoutSlot.fixed(RaceView.scoreboardHeight(runs: $0.runs.count), priority: 8) }
        let rows = Layout.rows(bounds, [.fixed(2, priority: 10), LayoutSlot(minimum: 14, weight: 3, priority: 9)]
                                       + (board.map { [$0] } ?? [])
                                       + [LayoutSlot(minimum: 4, weight: 1, priority: 6), .fixed(1, priority: 10)])
        let n = rows.count
        l.header = rows[0] ?? Rect(x: 0, y: 0, width: width, height: 2)
        l.help = rows[n - 1] ?? Rect(x: 0, y: height - 1, width: width, height: 1)
        l.log = rows[n - 2]
        if board != nil { l.scoreboard = rows[2] }
        guard let body = rows[1] else { return l }
        let columns = Layout.columns(body, [LayoutSlot(minimum: 32, weight: 5, priority: 9),
                                            LayoutSlot(minimum: 22, weight: 3, priority: 5),
                                            LayoutSlot(minimum: 24, maximum: 40, weight: 2, priority: 8)])
        if s.showClasses, let left = columns[0] {
            let right = columns[1] ?? left
            l.classes = Rect(x: left.x, y: left.y, width: right.maxX - left.x, height: left.height)
        } else {
            if let left = columns[0] {
                let charts = Layout.rows(left, [LayoutSlot(minimum: 6, weight: 1, priority: 2), LayoutSlot(minimum: 6, weight: 1, priority: 1)])
                l.loss = charts[0]
                l.accuracy = charts[1]
            }
            l.angles = columns[1]
        }
        if let right = columns[2] {
            if right.height >= controlsHeight + 6 {
                let (top, rest) = right.splitTop(controlsHeight)
                l.controls = top
                l.results = rest
            } else {
                l.controls = right
            }
        }
        return l
    }

    // MARK: header

    static func stateRole(_ state: RunState) -> ColorRole {
        switch state {
        case .running: return .ok
        case .paused, .saving, .finished: return .warn
        case .diverged, .stopped, .disconnected: return .error
        }
    }

    static func header(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        var x = rect.x
        x = grid.put(" SphereLab ", x: x, y: rect.y, style: Style(.title, bold: true, reverse: true))
        x = grid.put(s.glyphs.text(" \(s.displayRunName)"), x: x, y: rect.y, style: Style(.title, bold: true))
        let shown: RunState = s.saving ? .saving : t.state
        let stateText = t.isEvaluating && shown == .running ? "EVALUATING" : shown.rawValue
        let badge = " \(stateText) "
        let badgeX = rect.maxX - badge.count
        _ = grid.put(badge, x: badgeX, y: rect.y, style: Style(stateRole(shown), bold: true, reverse: true))
        var progress = "step \(t.step)"
        if t.isEvaluating { progress += "  evaluating \(t.evaluationExamples) test images…" }
        if t.stepsPerEpoch > 0 {
            let pct = Int(100 * Double(t.step % t.stepsPerEpoch) / Double(t.stepsPerEpoch))
            progress += "  epoch \(t.epoch + 1) (\(pct)%)"
        }
        if let total = t.totalSteps { progress += " of \(total) steps" }
        if !t.isEvaluating { progress += "  " + rate(t.imagesPerSecond, dash: "–") + " img/s" }
        if let eta = t.secondsToRunEnd ?? t.secondsToEpochEnd, t.state == .running {
            progress += "  ETA " + ProgressBar.duration(eta) + (t.totalSteps == nil ? " (epoch)" : "")
        }
        grid.putTruncated(progress, x: x + 2, y: rect.y, maxWidth: max(0, badgeX - x - 3), style: Style(.normal), glyphs: s.glyphs)
        let h = t.hyper
        var line2 = "\(t.dataset) · \(t.model) · \(s.currentVariant.description) · lr \(Control.number(Double(t.learningRate))) · \(h.optimizer.name) · \(s.currentLoss.name) · batch \(h.batchSize)"
        if let from = t.resumedFrom { line2 += " · from \(from)" }
        if t.unsavedSteps > 0 && s.sessionsAvailable { line2 += " · \(t.unsavedSteps) unsaved steps" }
        if let board = s.race { line2 = RaceView.headerLine(s, board) + " · " + line2 }
        grid.putTruncated(" " + line2, x: rect.x, y: rect.y + 1, maxWidth: rect.width, style: Style(.dim), glyphs: s.glyphs)
    }

    /// Images per second as measured, or `dash` before the run has measured a rate (0: a run
    /// just opened from a snapshot, until its first step).
    static func rate(_ imagesPerSecond: Double, dash: String) -> String {
        imagesPerSecond > 0 && imagesPerSecond.isFinite ? String(format: "%.0f", imagesPerSecond) : dash
    }

    // MARK: charts

    /// The x of a point: its step, or its compute seconds on the time axis (nil if not recorded).
    static func xValue(step: Int, seconds: Double?, _ s: AppState) -> Double? {
        s.timeAxis ? seconds : Double(step)
    }

    static func points(_ m: [MetricPoint], _ s: AppState) -> [ChartPoint] {
        m.compactMap { p in xValue(step: p.step, seconds: p.seconds, s).map { ChartPoint(x: $0, y: p.value) } }
    }

    /// A series with its downsampled buckets drawn as min…max spans.
    static func spanPoints(_ series: MetricSeries, _ s: AppState) -> [ChartPoint] {
        series.spans.compactMap { b in
            xValue(step: b.step, seconds: b.seconds, s).map {
                b.min == b.max ? ChartPoint(x: $0, y: b.mean) : ChartPoint(x: $0, y: b.mean, low: b.min, high: b.max)
            }
        }
    }

    /// The compute seconds at `step`, from the train series (the nearest recorded point at or after it).
    static func seconds(atStep step: Int, in t: Telemetry) -> Double? {
        let spans = t.history.trainLoss.spans
        guard !spans.isEmpty else { return nil }
        var lo = 0, hi = spans.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if spans[mid].step < step { lo = mid + 1 } else { hi = mid }
        }
        return spans[lo].seconds
    }

    /// The x range of the chart window (nil: the whole run).
    static func xRange(_ s: AppState) -> ClosedRange<Double>? {
        let t = s.telemetry
        guard let n = s.chartWindow.steps, let last = t.history.trainLoss.last, last.step > n else { return nil }
        let first = last.step - n
        if s.timeAxis {
            guard let lo = seconds(atStep: first, in: t), let hi = last.seconds, lo < hi else { return nil }
            return lo...hi
        }
        return Double(first)...Double(last.step)
    }

    /// A marker label as the glyph set can show it: `lr×2` is `lr*2` in ASCII (short on a chart),
    /// `→linear` `->linear`, the rest as `AsciiText` spells it.
    public static func markerLabel(_ text: String, glyphs: GlyphSet) -> String {
        guard glyphs == .ascii else { return text }
        var out = ""
        for c in text {
            switch c {
            case "×": out += "*"
            case "÷": out += "/"
            case "→": out += "->"
            case "θ": out += "theta"
            case "⑂": out += "Y"   // a branch's fork
            default: out += AsciiText.fold(String(c))
            }
        }
        return out
    }

    /// The run's changes as chart markers at their steps (or compute times).
    static func markers(_ s: AppState) -> [ChartMarker] {
        let t = s.telemetry
        // Of several changes of one kind at one step (v pressed twice), the last one holds.
        var last: [String: Int] = [:]
        for (i, e) in t.events.enumerated() {
            if let label = e.marker { last["\(e.step) \(markerKind(label))"] = i }
        }
        return t.events.enumerated().compactMap { i, e in
            guard let label = e.marker, last["\(e.step) \(markerKind(label))"] == i else { return nil }
            let x = s.timeAxis ? seconds(atStep: e.step, in: t) : Double(e.step)
            guard let x else { return nil }
            let role: ColorRole = e.level == .error ? .error : (label == "resumed" || label == "opened" ? .accent : .warn)
            return ChartMarker(x: x, label: markerLabel(label, glyphs: s.glyphs), role: role)
        }
    }

    /// What a marker changes: the variant, the learning rate, the loss, … (its label otherwise).
    static func markerKind(_ label: String) -> String {
        if label.hasPrefix("→") { return "variant" }
        if label.hasPrefix("lr") { return "lr" }
        if label.contains("softmax") { return "loss" }
        if label == "sgd" || label == "adam" { return "optimizer" }
        return label.split(separator: " ").first.map(String.init) ?? label
    }

    /// What the chart panels' titles add: the window and the x axis when not the defaults.
    static func viewNote(_ s: AppState) -> String {
        var parts: [String] = []
        if let n = s.chartWindow.steps { parts.append("last \(n)") }
        if s.timeAxis { parts.append("time") }
        return parts.isEmpty ? "" : " · " + parts.joined(separator: " · ")
    }

    static func lossChart(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let title = "Loss" + (s.logScaleLoss ? " · log" : "") + viewNote(s)
        let inner = Panel(title: title, focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        let latest = t.history.trainLoss.last?.value
        let smoothed = s.smoothing > 0 ? s.smoothedLoss.last?.value : nil
        var series = [ChartSeries(label: "train", role: s.smoothing > 0 ? .dim : .series(0), points: spanPoints(t.history.trainLoss, s),
                                  readout: latest.map { Readout(latest: $0, smoothed: smoothed, glyphs: s.glyphs) })]
        series.append(ChartSeries(label: "test", role: .series(1), points: points(t.testLoss, s), style: .markers,
                                  readout: t.history.testLoss.last.map { Readout(latest: $0.value, glyphs: s.glyphs) }))
        if s.smoothing > 0 {   // named by the train entry's ≈ value
            var avg = ChartSeries(label: "smoothed", role: .series(0), points: points(s.smoothedLoss, s))
            avg.inLegend = false
            series.append(avg)
        }
        LineChart(series: series + RaceView.ghostSeries(s, accuracy: false), xRange: xRange(s), glyphs: s.glyphs, emptyMessage: "waiting for the first step…",
                  markers: markers(s), yFit: .robust(trim: 0.02), logY: s.logScaleLoss,
                  xFormat: s.timeAxis ? .duration : .number).render(into: &grid, in: inner)
    }

    /// `86.0% @350` (the value as a percentage and its step).
    static func percentAt(_ p: MetricPoint) -> String {
        ValueFormat.percent.readout(p.value) + " @\(p.step)"
    }

    static func accuracyChart(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let best = t.history.bestTestAccuracy.map { " · best " + percentAt($0) } ?? ""
        let inner = Panel(title: "Accuracy\(best)" + viewNote(s), focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        let latest = t.history.trainAccuracy.last?.value
        let smoothed = s.smoothing > 0 ? s.smoothedAccuracy.last?.value : nil
        var series = [ChartSeries(label: "train", role: .series(0), points: s.smoothing > 0 ? points(s.smoothedAccuracy, s) : spanPoints(t.history.trainAccuracy, s),
                                  readout: latest.map { Readout(latest: $0, smoothed: smoothed, format: .percent, glyphs: s.glyphs) }),
                      ChartSeries(label: "test", role: .series(1), points: points(t.testAccuracy, s), style: .markers,
                                  readout: t.history.testAccuracy.last.map { Readout(latest: $0.value, format: .percent, glyphs: s.glyphs) })]
        if !t.testAccuracyTrainModeBN.isEmpty {
            series.append(ChartSeries(label: "test, train-mode BN", role: .series(2), points: points(t.testAccuracyTrainModeBN, s), style: .markers,
                                      readout: t.history.testAccuracyTrainModeBN.last.map { Readout(latest: $0.value, format: .percent, glyphs: s.glyphs) }))
        }
        LineChart(series: series + RaceView.ghostSeries(s, accuracy: true), xRange: xRange(s), glyphs: s.glyphs, emptyMessage: "waiting for the first step…",
                  markers: markers(s), yFit: .robust(trim: 0.02), xFormat: s.timeAxis ? .duration : .number,
                  yFormat: .percent).render(into: &grid, in: inner)
    }

    // MARK: angles

    /// The layers to show, in network order: the latest measurement, or — for a run not yet
    /// measured since it was opened, branched or added to a race — the last entry of each
    /// layer's saved history. That history is keyed by name, and names do not sort into network
    /// order (`fc6.0` before `features.0`, `stem.0` after `layer3.4.conv2`), so the order comes
    /// from the run's `angleLayers`; a layer it does not list goes last.
    public static func layersShown(_ t: Telemetry) -> [LayerAngles] {
        let latest = t.angles.isEmpty
            ? t.angleHistory.compactMap { $0.value.entries.last }.sorted { $0.layer.compare($1.layer, options: .numeric) == .orderedAscending }
            : t.angles
        guard !t.angleLayers.isEmpty else { return latest }
        let rank = Dictionary(t.angleLayers.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return latest.enumerated()
            .sorted { (rank[$0.element.layer] ?? Int.max, $0.offset) < (rank[$1.element.layer] ?? Int.max, $1.offset) }
            .map(\.element)
    }

    static func median(_ a: LayerAngles) -> Double? { a.percentiles.count == 5 ? a.percentiles[2] : nil }

    static func degrees(_ radians: Double?, _ glyphs: GlyphSet) -> String {
        radians.map { ValueFormat.degrees.readout($0, glyphs: glyphs) } ?? "–"
    }

    static func angles(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let layers = layersShown(t)
        let count = layers.count
        let index = count == 0 ? 0 : min(max(0, s.selectedLayer), count - 1)
        let title = count == 0 ? "Angles" : (s.allLayersView ? "Angles · all \(count) layers" : "Angles [\(index + 1)/\(count)]")
        let inner = Panel(title: title, focused: s.focus == .angles, glyphs: s.glyphs).render(into: &grid, in: rect)
        guard count > 0 else {
            Notice(lines: ["no SphereConv-capable layer measured yet"], role: .dim, glyphs: s.glyphs).render(into: &grid, in: inner)
            return
        }
        func label(_ text: String, _ r: Rect, _ role: ColorRole = .label) {
            grid.putTruncated(text, x: r.x, y: r.y, maxWidth: r.width, style: Style(role), glyphs: s.glyphs)
        }
        if s.allLayersView {
            allLayers(s, layers: layers, into: &grid, in: inner)
            return
        }
        let layer = layers[index]
        let (top, rest) = inner.splitTop(1)
        let (line, stale) = layerLine(layer, now: s.currentVariant, width: top.width, glyphs: s.glyphs)
        label(line, top, stale ? .warn : .accent)
        let parts = Layout.rows(rest, [LayoutSlot(minimum: 4, weight: 3, priority: 9), LayoutSlot(minimum: 4, weight: 2, priority: 5),
                                       LayoutSlot(minimum: 5, weight: 3, priority: 7), LayoutSlot(minimum: count + 4, weight: 2, priority: 3)])
        let full = 0...Double.pi
        if let r = parts[0] {
            let (head, body) = r.splitTop(1)
            let counts = layer.patchAngles.map(Double.init)
            label("θ(w, x) median \(degrees(median(layer), s.glyphs)) · kernel↔patch", head)
            Histogram(counts: counts, range: full, marker: Double.pi / 2, role: .series(0), glyphs: s.glyphs,
                      view: Histogram.occupiedRange(counts: counts, range: full), axisFormat: .degrees).render(into: &grid, in: body)
        }
        if let r = parts[1] {
            let (head, body) = r.splitTop(1)
            let counts = layer.kernelAngles.map(Double.init)
            label("kernel↔kernel angles (orthogonality)", head)
            Histogram(counts: counts, range: full, marker: Double.pi / 2, role: .series(2), glyphs: s.glyphs,
                      view: Histogram.occupiedRange(counts: counts, range: full), axisFormat: .degrees).render(into: &grid, in: body)
        }
        let history = t.angleHistory[layer.layer]?.entries ?? []
        if let r = parts[2] {
            let (head, body) = r.splitTop(1)
            label("θ percentiles 10/25/50/75/90 vs step", head)
            let kept = history.filter { $0.percentiles.count == 5 }
            BandChart(samples: kept.map { e in
                Percentiles(p10: e.percentiles[0], p25: e.percentiles[1], p50: e.percentiles[2], p75: e.percentiles[3], p90: e.percentiles[4])
            }, yRange: full, glyphs: s.glyphs, emptyMessage: "history starts at the next measurement",
                      steps: kept.map { Double($0.step) }, zoomFormat: .degrees).render(into: &grid, in: body)
        }
        if let r = parts[3] { allLayers(s, layers: layers, into: &grid, in: r) }
    }

    /// The angle view's first line: the layer and the variant its angles were measured under.
    /// After `v` the histograms stay those of the old variant until the next measurement (none
    /// while paused), so they are marked as measured before the switch — the longest wording
    /// that fits, down to `features.0 · before switch` — rather than labelled with the new one.
    static func layerLine(_ layer: LayerAngles, now: ConvVariant, width: Int, glyphs: GlyphSet) -> (text: String, stale: Bool) {
        let measured = layer.variant
        let current = measured == now.description || measured == now.name || (try? ConvVariant(parsing: measured)) == now
        guard !current else { return ("\(layer.layer) · \(measured)", false) }
        let wordings = ["\(layer.layer) · \(measured) (before switch to \(now.description))",
                        "\(layer.layer) · \(measured) (before switch)",
                        "\(layer.layer) · before switch"]
        return (wordings.first { glyphs.text($0).count <= width } ?? wordings[wordings.count - 1], true)
    }

    /// Median θ per layer over steps, one row each, labelled with the latest median.
    static func allLayers(_ s: AppState, layers: [LayerAngles], into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let (head, body) = rect.splitTop(1)
        grid.putTruncated("median θ per layer vs step", x: head.x, y: head.y, maxWidth: head.width, style: Style(.label), glyphs: s.glyphs)
        let histories = layers.map { (t.angleHistory[$0.layer]?.entries ?? []).filter { $0.percentiles.count == 5 } }
        let n = histories.map(\.count).min() ?? 0
        let rows = zip(layers, histories).enumerated().map { i, pair in
            HeatRow(label: "L\(i + 1) \(degrees(median(pair.0), s.glyphs))", values: pair.1.suffix(n).map { $0.percentiles[2] })
        }
        let steps = histories.first.map { $0.suffix(n).map { Double($0.step) } } ?? []
        HeatRows(rows: rows, steps: steps, format: .degrees, glyphs: s.glyphs,
                 emptyMessage: "history starts at the next measurement").render(into: &grid, in: body)
    }

    // MARK: results

    /// Class names for the run's dataset (numbers when the app gave none).
    static func classNames(_ t: Telemetry, count: Int) -> [String] {
        (0..<count).map { $0 < t.classNames.count ? t.classNames[$0] : String($0) }
    }

    /// The per-class view: accuracy per class and the confusion matrix of the latest evaluation.
    static func classes(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let step = t.confusionStep.map { " · step \($0)" } ?? ""
        let inner = Panel(title: "Per-class results\(step)", focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        var (top, body) = inner.splitTop(1)
        var summary: [String] = []
        if let last = t.history.testAccuracy.last { summary.append("test " + percentAt(last)) }
        if let best = t.history.bestTestAccuracy { summary.append("best " + percentAt(best)) }
        if t.isEvaluating { summary.append("evaluating \(t.evaluationExamples) test images…") }
        summary.append("rows: true class · columns: predicted · c closes")
        grid.putTruncated(summary.joined(separator: "  ·  "), x: top.x, y: top.y, maxWidth: top.width, style: Style(.label), glyphs: s.glyphs)
        guard let c = t.confusion else {
            Notice(lines: ["no evaluation yet", "press e to evaluate now"], role: .dim, glyphs: s.glyphs).render(into: &grid, in: body)
            return
        }
        if body.height > 2 { (top, body) = body.splitTop(1) }
        ConfusionMatrix(classes: classNames(t, count: c.classes), counts: c.rows, glyphs: s.glyphs).render(into: &grid, in: body)
    }

    /// Below the controls when there is room: the test accuracy, best, evaluation in progress,
    /// ETA, and the per-class accuracy of the latest evaluation.
    static func results(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let inner = Panel(title: "Results", glyphs: s.glyphs).render(into: &grid, in: rect)
        var lines: [(String, ColorRole)] = []
        if let last = t.history.testAccuracy.last {
            lines.append(("test  " + percentAt(last), .series(1)))
        } else {
            lines.append(("test  – (no evaluation yet)", .dim))
        }
        if let best = t.history.bestTestAccuracy { lines.append(("best  " + percentAt(best), .ok)) }
        if t.isEvaluating { lines.append(("evaluating \(t.evaluationExamples) test images…", .warn)) }
        if let eta = t.secondsToRunEnd, t.state == .running, let total = t.totalSteps {
            lines.append(("ETA " + ProgressBar.duration(eta) + " to step \(total)", .dim))
        }
        var y = inner.y
        for (text, role) in lines where y < inner.maxY {
            grid.putTruncated(text, x: inner.x, y: y, maxWidth: inner.width, style: Style(role), glyphs: s.glyphs)
            y += 1
        }
        guard let c = t.confusion, inner.maxY - y >= 3 else { return }
        ConfusionMatrix(classes: classNames(t, count: c.classes), counts: c.rows, glyphs: s.glyphs)
            .render(into: &grid, in: Rect(x: inner.x, y: y, width: inner.width, height: inner.maxY - y))
    }

    // MARK: controls, log, overlays

    static func controls(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let inner = Panel(title: "Controls", focused: s.focus == .controls, glyphs: s.glyphs).render(into: &grid, in: rect)
        let rows = Control.allCases.enumerated().map { (i, c) -> FormRow in
            let selected = s.focus == .controls && i == s.selectedControl
            if selected, let text = s.editText {
                return FormRow(label: c.label, value: text, mode: .editing(cursor: text.count), message: s.editError)
            }
            return FormRow(label: c.label, value: c.value(in: s), mode: selected ? .focused : .normal)
        }
        Form(rows: rows, glyphs: s.glyphs).render(into: &grid, in: inner)
    }

    static func log(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let title = s.logScroll > 0 ? "Events · scrolled back (End follows)" : "Events"
        let inner = Panel(title: title, focused: s.focus == .log, glyphs: s.glyphs).render(into: &grid, in: rect)
        var lines = s.telemetry.events.map { e -> LogLine in
            let role: ColorRole = e.level == .error ? .error : (e.level == .warning ? .warn : (e.marker != nil ? .accent : .normal))
            return LogLine("[\(e.step)] \(e.text)", role: role)
        }
        if let status = s.status { lines.append(LogLine("» \(status)", role: .accent)) }
        LogView(lines: lines, glyphs: s.glyphs, scroll: s.logScroll).render(into: &grid, in: inner)
    }

    /// Every key from the one table: one per row when they fit the height, else in two columns.
    static func helpDialog(_ s: AppState, width: Int, height: Int) -> Dialog {
        // Spelled for the glyph set first: the two columns are measured from these.
        let hints = KeyMap.bindings.map { KeyHint(s.glyphs.text($0.label), s.glyphs.text($0.help)) }
        if hints.count + 8 <= height {
            return Dialog(title: "Keys", content: .keyTable(hints), footer: "any key closes", glyphs: s.glyphs)
        }
        // Two columns as one key table: the left key in the key column, the rest in the text.
        let keyWidth = (hints.map(\.key.count).max() ?? 0) + 2   // as the key table's own key column
        let column = (min(width - 6, 116) - 2) / 2
        func fit(_ text: String, _ n: Int) -> String {
            TextFit.truncate(text, to: n, glyphs: s.glyphs).padding(toLength: n, withPad: " ", startingAt: 0)
        }
        let rows = (hints.count + 1) / 2
        let table = (0..<rows).map { i -> KeyHint in
            let left = hints[i]
            var text = fit(left.label, column - keyWidth)
            if i + rows < hints.count {
                let right = hints[i + rows]
                text += "  " + right.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + fit(right.label, column - keyWidth)
            }
            return KeyHint(left.key, text)
        }
        return Dialog(title: "Keys", content: .keyTable(table), footer: "any key closes", maxContentWidth: 2 * column + 2, glyphs: s.glyphs)
    }

    /// The quit and open dialogs' first line: what would be lost ("12 steps of the race and
    /// the scoreboard's thresholds are not saved.").
    static func notSaved(_ s: AppState, quitting: Bool) -> String {
        if s.race == nil && quitting { return "\(s.unsavedSteps) steps are not saved." }
        let parts = s.unsavedParts
        let list = parts.count < 2 ? parts.joined() : parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1]
        return list.prefix(1).uppercased() + list.dropFirst() + " are not saved."
    }

    static func overlay(_ s: AppState, into grid: inout CellGrid) {
        let dialog: Dialog
        switch s.overlay {
        case .none: return
        case .help:
            dialog = helpDialog(s, width: grid.width, height: grid.height)
        case .confirmQuit:
            dialog = Dialog(title: "Quit", content: .text([notSaved(s, quitting: true), s.race == nil ? "Save a snapshot before quitting?" : "Save the race before quitting?"]),
                            footer: "y save and quit · n quit · esc stay", glyphs: s.glyphs)
        case .saveName(let name):
            dialog = Dialog(title: s.race == nil ? "Save snapshot" : "Save the race (every run, one folder)",
                            content: .text(["Name (letters, digits, . _ -):", name + "▏"]),
                            footer: "enter save · esc cancel", glyphs: s.glyphs)
        case .snapshots(let list, let selected):
            dialog = Dialog(title: "Open snapshot", content: .pickList(items: list.map { "\($0.name)  \($0.detail)" }, selected: selected),
                            footer: "↑↓ choose · enter open · esc cancel", maxContentWidth: 76, glyphs: s.glyphs)
        case .confirmOpen:
            dialog = Dialog(title: "Open snapshot", content: .text([notSaved(s, quitting: false), s.race == nil ? "Save them first?" : "Save the race first?"]),
                            footer: "y save then open · n open · esc cancel", glyphs: s.glyphs)
        case .message(let title, let lines):
            dialog = Dialog(title: title, content: .text(lines), footer: "any key closes", glyphs: s.glyphs)
        case .runSpec, .confirmRemove, .thresholds, .ghostPicker:
            guard let d = RaceView.dialog(s) else { return }
            dialog = d
        }
        dialog.render(into: &grid, in: grid.bounds)
    }
}
