import Foundation
import Engine

/// One row of the race's scoreboard.
public struct RaceScore: Sendable, Equatable {
    public struct Reached: Sendable, Equatable {
        public var step: Int
        /// The run's own compute time (its steps and evaluations) when it got there.
        public var seconds: Double
    }

    public var name: String
    public var step = 0
    /// Exponential average of the training loss (0.95 / 0.05, as headless `train` shows it).
    public var smoothedLoss: Double?
    public var lastTestAccuracy: Double?
    public var bestTestAccuracy: Double?
    /// When the test accuracy first reached each threshold (nil: not yet).
    public var reached: [Reached?]
    public var imagesPerSecond = 0.0

    public init(name: String, thresholds: Int) {
        self.name = name
        reached = Array(repeating: nil, count: thresholds)
    }
}

/// The race's scoreboard, fed with each contender's events: the final table of headless
/// `race`, and the workbench's panel.
public struct RaceScoreboard: Sendable {
    /// Test accuracies whose first crossing is timed (80 %, 85 %, 88 % by default).
    public let thresholds: [Double]
    public private(set) var rows: [RaceScore] = []

    public init(thresholds: [Double] = [0.80, 0.85, 0.88]) {
        self.thresholds = thresholds
    }

    public mutating func addRow(name: String) {
        rows.append(RaceScore(name: name, thresholds: thresholds.count))
    }

    public mutating func removeRow(at index: Int) {
        if rows.indices.contains(index) { rows.remove(at: index) }
    }

    /// Takes one contender's events in; `session` is that contender's (for its clock and speed).
    public mutating func record(_ events: [SessionEvent], row: Int, session: TrainingSession) {
        guard rows.indices.contains(row) else { return }
        for event in events {
            switch event {
            case .stepFinished(let r):
                rows[row].step = r.step
                rows[row].smoothedLoss = rows[row].smoothedLoss.map { 0.95 * $0 + 0.05 * r.loss } ?? r.loss
                rows[row].imagesPerSecond = session.imagesPerSecond
            case .evaluationFinished(let e):
                rows[row].lastTestAccuracy = e.accuracy
                rows[row].bestTestAccuracy = max(rows[row].bestTestAccuracy ?? e.accuracy, e.accuracy)
                for (i, t) in thresholds.enumerated() where rows[row].reached[i] == nil && e.accuracy >= t {
                    rows[row].reached[i] = RaceScore.Reached(step: e.step, seconds: session.history.elapsedSeconds)
                }
            default:
                break
            }
        }
    }

    /// The table as text: a header and one line per run, columns aligned.
    public func table() -> String {
        func percent(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
        var header = ["run", "step", "loss", "last test", "best test"]
        header += thresholds.map { String(format: "to %g%%", 100 * $0) }
        header.append("img/s")
        var lines = [header]
        for r in rows {
            var cells = [r.name, String(r.step), r.smoothedLoss.map { String(format: "%.4f", $0) } ?? "–",
                         percent(r.lastTestAccuracy), percent(r.bestTestAccuracy)]
            cells += r.reached.map { $0.map { "\($0.step) / " + ProgressBar.duration($0.seconds) } ?? "–" }
            cells.append(String(format: "%.0f", r.imagesPerSecond))
            lines.append(cells)
        }
        var widths = [Int](repeating: 0, count: header.count)
        for line in lines { for (i, c) in line.enumerated() { widths[i] = max(widths[i], c.count) } }
        return lines.map { line in
            line.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// One JSON object per run (headless `race --json`'s final table).
    public func jsonLines() -> [String] {
        rows.map { r in
            var fields: [(String, JSONLine.Value)] = [("run", .string(r.name)), ("final", .bool(true)), ("step", .int(r.step))]
            if let l = r.smoothedLoss { fields.append(("smoothed_loss", .double(l))) }
            if let a = r.lastTestAccuracy { fields.append(("test_accuracy", .double(a))) }
            if let a = r.bestTestAccuracy { fields.append(("best_test_accuracy", .double(a))) }
            for (i, t) in thresholds.enumerated() {
                let key = String(format: "%g", 100 * t)
                if let reached = r.reached[i] {
                    fields.append(("steps_to_\(key)", .int(reached.step)))
                    fields.append(("seconds_to_\(key)", .double(reached.seconds)))
                }
            }
            fields.append(("images_per_sec", .double(r.imagesPerSecond)))
            return JSONLine.object(fields)
        }
    }
}
