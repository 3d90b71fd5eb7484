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
        let (headerArea, rest) = grid.bounds.splitTop(2)
        let (body, bottom) = rest.splitBottom(5)
        let (logArea, helpArea) = bottom.splitBottom(1)
        header(s, into: &grid, in: headerArea)
        let columns = body.columns([.ratio(0.42), .ratio(0.29), .fill(1)])
        let charts = columns[0].rows([.ratio(0.5), .fill(1)])
        lossChart(s, into: &grid, in: charts[0])
        accuracyChart(s, into: &grid, in: charts[1])
        angles(s, into: &grid, in: columns[1])
        controls(s, into: &grid, in: columns[2])
        log(s, into: &grid, in: logArea)
        HelpBar(hints: KeyMap.hints, glyphs: s.glyphs).render(into: &grid, in: helpArea)
        overlay(s, into: &grid)
        return grid
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
        x = grid.put(" \(t.runName)", x: x, y: rect.y, style: Style(.title, bold: true))
        let shown: RunState = s.saving ? .saving : t.state
        let stateText = t.isEvaluating && shown == .running ? "EVALUATING" : shown.rawValue
        let badge = " \(stateText) "
        let badgeX = rect.maxX - badge.count
        _ = grid.put(badge, x: badgeX, y: rect.y, style: Style(stateRole(shown), bold: true, reverse: true))
        var progress = "step \(t.step)"
        if t.stepsPerEpoch > 0 {
            let pct = Int(100 * Double(t.step % t.stepsPerEpoch) / Double(t.stepsPerEpoch))
            progress += "  epoch \(t.epoch + 1) (\(pct)%)"
        }
        if let total = t.totalSteps { progress += " of \(total) steps" }
        progress += String(format: "  %.0f img/s", t.imagesPerSecond)
        if let eta = t.secondsToRunEnd ?? t.secondsToEpochEnd, t.state == .running {
            progress += "  ETA " + ProgressBar.duration(eta) + (t.totalSteps == nil ? " (epoch)" : "")
        }
        grid.putTruncated(progress, x: x + 2, y: rect.y, maxWidth: max(0, badgeX - x - 3), style: Style(.normal))
        let h = t.hyper
        var line2 = "\(t.dataset) · \(t.model) · \(h.variant.description) · lr \(Control.number(Double(t.learningRate))) · \(h.optimizer.name) · \(LossChoice(head: h.head, crossEntropy: h.crossEntropy).name) · batch \(h.batchSize)"
        if let from = t.resumedFrom { line2 += " · from \(from)" }
        if t.unsavedSteps > 0 && s.sessionsAvailable { line2 += " · \(t.unsavedSteps) unsaved steps" }
        grid.putTruncated(" " + line2, x: rect.x, y: rect.y + 1, maxWidth: rect.width, style: Style(.dim))
    }

    // MARK: charts

    static func points(_ m: [MetricPoint]) -> [ChartPoint] { m.map { ChartPoint(x: Double($0.step), y: $0.value) } }

    static func lossChart(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let inner = Panel(title: "Loss", focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        var series = [ChartSeries(label: "train", role: .dim, points: points(t.trainLoss))]
        if s.smoothing > 0 { series.append(ChartSeries(label: String(format: "smoothed %.2f", s.smoothing), role: .series(0), points: points(s.smoothedLoss))) }
        series.append(ChartSeries(label: "test", role: .series(1), points: points(t.testLoss)))
        LineChart(series: series, glyphs: s.glyphs, emptyMessage: "waiting for the first step…").render(into: &grid, in: inner)
    }

    static func accuracyChart(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let best = t.bestTestAccuracy.map { String(format: " · best test %.2f%%", 100 * $0) } ?? ""
        let inner = Panel(title: "Accuracy\(best)", focused: s.focus == .charts, glyphs: s.glyphs).render(into: &grid, in: rect)
        var series = [ChartSeries(label: "train", role: .series(0), points: points(s.smoothedAccuracy)),
                      ChartSeries(label: "test", role: .series(1), points: points(t.testAccuracy))]
        if !t.testAccuracyTrainModeBN.isEmpty {
            series.append(ChartSeries(label: "test, train-mode BN", role: .series(2), points: points(t.testAccuracyTrainModeBN)))
        }
        LineChart(series: series, yRange: 0...1, glyphs: s.glyphs, emptyMessage: "waiting for the first step…").render(into: &grid, in: inner)
    }

    // MARK: angles

    static let angleLabels = [AxisLabel(0, "0"), AxisLabel(Double.pi / 2, "π/2"), AxisLabel(Double.pi, "π")]

    static func angles(_ s: AppState, into grid: inout CellGrid, in rect: Rect) {
        let t = s.telemetry
        let count = t.angles.count
        let index = count == 0 ? 0 : min(max(0, s.selectedLayer), count - 1)
        let layer = count == 0 ? nil : t.angles[index]
        let title = count == 0 ? "Angles" : "Angles [\(index + 1)/\(count)]"
        let inner = Panel(title: title, focused: s.focus == .angles, glyphs: s.glyphs).render(into: &grid, in: rect)
        guard let layer else {
            Notice(lines: ["no SphereConv-capable layer measured yet"], role: .dim, glyphs: s.glyphs).render(into: &grid, in: inner)
            return
        }
        let parts = inner.rows([.fixed(1), .fixed(1), .ratio(0.28), .fixed(1), .ratio(0.20), .fixed(1), .ratio(0.20), .fixed(1), .fill(1)])
        func label(_ text: String, _ r: Rect, _ role: ColorRole = .label) {
            grid.putTruncated(text, x: r.x, y: r.y, maxWidth: r.width, style: Style(role), glyphs: s.glyphs)
        }
        label("\(layer.layer) · \(layer.variant) · step \(layer.step)", parts[0], .accent)
        label("θ(w, x) kernel↔patch", parts[1])
        Histogram(counts: layer.patchAngles.map(Double.init), range: 0...Double.pi, labels: angleLabels, marker: Double.pi / 2,
                  role: .series(0), glyphs: s.glyphs).render(into: &grid, in: parts[2])
        label("kernel↔kernel angles", parts[3])
        Histogram(counts: layer.kernelAngles.map(Double.init), range: 0...Double.pi, labels: angleLabels, marker: Double.pi / 2,
                  role: .series(2), glyphs: s.glyphs).render(into: &grid, in: parts[4])
        let history = t.angleHistory[layer.layer]?.entries ?? []
        label("θ(w, x) over time", parts[5])
        HeatStrip(frames: history.map { frame in
            let total = Double(max(1, frame.patchAngles.reduce(0, +)))
            return frame.patchAngles.map { Double($0) / total }
        }, glyphs: s.glyphs, emptyMessage: "history starts at the next measurement").render(into: &grid, in: parts[6])
        label("θ percentiles 10/25/50/75/90", parts[7])
        BandChart(samples: history.compactMap { e in
            e.percentiles.count == 5 ? Percentiles(p10: e.percentiles[0], p25: e.percentiles[1], p50: e.percentiles[2],
                                                   p75: e.percentiles[3], p90: e.percentiles[4]) : nil
        }, yRange: 0...Double.pi, yLabels: [AxisLabel(0, "0"), AxisLabel(Double.pi, "π")], glyphs: s.glyphs,
                  emptyMessage: "history starts at the next measurement").render(into: &grid, in: parts[8])
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
        let inner = Panel(title: "Events", glyphs: s.glyphs).render(into: &grid, in: rect)
        var lines = s.telemetry.events.suffix(inner.height).map { e -> LogLine in
            let role: ColorRole = e.level == .error ? .error : (e.level == .warning ? .warn : .normal)
            return LogLine("[\(e.step)] \(e.text)", role: role)
        }
        if let status = s.status { lines.append(LogLine("» \(status)", role: .accent)) }
        LogView(lines: lines, glyphs: s.glyphs).render(into: &grid, in: inner)
    }

    static func overlay(_ s: AppState, into grid: inout CellGrid) {
        let dialog: Dialog
        switch s.overlay {
        case .none: return
        case .help:
            dialog = Dialog(title: "Keys", content: .keyTable(KeyMap.bindings.map { KeyHint($0.label, $0.help) }),
                            footer: "any key closes", glyphs: s.glyphs)
        case .confirmQuit:
            dialog = Dialog(title: "Quit", content: .text(["\(s.telemetry.unsavedSteps) steps are not saved.",
                                                           "Save a snapshot before quitting?"]),
                            footer: "y save and quit · n quit · esc stay", glyphs: s.glyphs)
        case .saveName(let name):
            dialog = Dialog(title: "Save snapshot", content: .text(["Name (letters, digits, . _ -):", name + "▏"]),
                            footer: "enter save · esc cancel", glyphs: s.glyphs)
        case .snapshots(let list, let selected):
            dialog = Dialog(title: "Open snapshot", content: .pickList(items: list.map { "\($0.name)  \($0.detail)" }, selected: selected),
                            footer: "↑↓ choose · enter open · esc cancel", maxContentWidth: 76, glyphs: s.glyphs)
        case .confirmOpen:
            dialog = Dialog(title: "Open snapshot", content: .text(["\(s.telemetry.unsavedSteps) steps of this run are not saved.",
                                                                    "Save them first?"]),
                            footer: "y save then open · n open · esc cancel", glyphs: s.glyphs)
        case .message(let title, let lines):
            dialog = Dialog(title: title, content: .text(lines), footer: "any key closes", glyphs: s.glyphs)
        }
        dialog.render(into: &grid, in: grid.bounds)
    }
}
