import Foundation
import Engine
import TUI

/// `spherelab race`: drives a `Race` on the calling thread and prints each contender's events
/// — JSON lines with a "run" field (`--json`), one live progress line per run on a terminal,
/// or plain lines — and keeps the scoreboard for the final table.
public struct HeadlessRace {
    public enum OutputStyle: Sendable { case json, progressLines, plain }

    public let style: OutputStyle
    public var write: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
    public var writeProgress: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    /// The progress lines' terminal width (nil: unknown, nothing is cut).
    public var columns: () -> Int? = { ConsoleWidth.columns() }
    /// A stop signal received (`StopSignals`), asked between units of work: the race stops
    /// there with `StoppedBySignal`, its runs whole, for the command to save.
    public var stopSignal: () -> Int32? = { StopSignals.pending }

    /// How lines for people are spelled (`--ascii`, or a locale without UTF-8: `.ascii`, as
    /// the workbench draws); JSON lines are data and stay as they are.
    public var glyphs: GlyphSet

    public init(style: OutputStyle, glyphs: GlyphSet = .unicode) {
        self.style = style
        self.glyphs = glyphs
    }

    /// A line for people on stdout, spelled for `glyphs`.
    public func say(_ text: String) { write(glyphs.text(text)) }

    /// Runs every contender `steps` more steps (default: one epoch of the first), evaluating on
    /// the shared schedule and at the end. Returns the scoreboard.
    public func run(_ race: Race, steps: Int?, thresholds: [Double] = [0.80, 0.85, 0.88]) throws -> RaceScoreboard {
        guard let first = race.contenders.first else { throw EngineError("the race has no contenders; add one with --variants or --run") }
        let steps = steps ?? first.session.trainer.stepsPerEpoch
        try race.run(steps: steps)
        var board = RaceScoreboard(thresholds: thresholds)
        for c in race.contenders { board.addRow(name: c.name) }
        let names = race.contenders.map(\.name)
        let nameWidth = names.map(\.count).max() ?? 0
        if style != .json {
            let t = first.session.trainer
            say("race of \(names.joined(separator: ", ")): \(t.model.displayName), batch \(t.hyper.batchSize), \(steps) \(steps == 1 ? "step" : "steps") on \(first.session.labels.dataset), seed \(first.run.identity.setup.seed)")
        }
        var drawnLines = 0
        var lastDraw = Date.distantPast
        func clearProgress() {
            guard drawnLines > 0 else { return }
            writeProgress("\u{1B}[\(drawnLines)A\r\u{1B}[J")
            drawnLines = 0
        }
        func drawProgress(force: Bool) {
            guard style == .progressLines, force || Date().timeIntervalSince(lastDraw) >= 0.2 else { return }
            lastDraw = Date()
            var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
            let width = columns()
            for (i, row) in board.rows.enumerated() {
                let session = race.contenders[i].session
                let done = Double(row.step - (session.totalSteps.map { $0 - steps } ?? 0)) / Double(steps)
                let padded = row.name + String(repeating: " ", count: nameWidth - row.name.count)
                let figures = String(format: " %6d  loss %.4f  test ", row.step, row.smoothedLoss ?? .nan)
                    + (row.lastTestAccuracy.map { String(format: "%6.2f%%", 100 * $0) } ?? "     –")
                    + String(format: "  %5.0f img/s", row.imagesPerSecond)
                    + (session.evaluationIsNext ? "  evaluating…" : "")
                text += "\r" + ProgressBar.line(prefix: padded + " ", fraction: done, suffix: figures, columns: width, glyphs: glyphs, widest: 20) + "\n"
            }
            drawnLines = board.rows.count
            writeProgress(text)
        }
        while true {
            if let signal = stopSignal() {
                drawProgress(force: true)
                drawnLines = 0
                throw StoppedBySignal(signal: signal)
            }
            guard let (i, events) = race.advance() else { break }
            let session = race.contenders[i].session
            let name = race.contenders[i].name
            board.record(events, row: i, session: session)
            for event in events {
                switch event {
                case .stepFinished(let r):
                    switch style {
                    case .json:
                        write(JSONLine.object([("run", .string(name)), ("step", .int(r.step)), ("loss", .double(r.loss)),
                                               ("accuracy", .double(r.accuracy)), ("lr", .double(Double(r.learningRate))),
                                               ("images_per_sec", .double(r.imagesPerSecond)), ("elapsed", .double(session.history.elapsedSeconds))]))
                    case .progressLines:
                        drawProgress(force: false)
                    case .plain:
                        if r.step % 50 == 0 || session.reachedEnd {
                            say(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + String(format: "  step %d  loss %.4f  acc %.1f%%  lr %.3g  %.0f img/s", r.step,
                                         board.rows[i].smoothedLoss ?? r.loss, 100 * r.accuracy, Double(r.learningRate), r.imagesPerSecond))
                        }
                    }
                case .evaluationStarted:
                    drawProgress(force: true)
                case .evaluationFinished(let e):
                    switch style {
                    case .json:
                        write(JSONLine.object([("run", .string(name)), ("step", .int(e.step)), ("test_accuracy", .double(e.accuracy)),
                                               ("test_loss", .double(e.loss)), ("elapsed", .double(session.history.elapsedSeconds))]))
                    case .progressLines, .plain:
                        clearProgress()
                        say(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + String(format: "  step %d: test accuracy %.2f%%  test loss %.4f  (%d examples, %.1fs)", e.step,
                                     100 * e.accuracy, e.loss, e.examples, e.seconds))
                        drawProgress(force: true)
                    }
                case .diverged(let step, _):
                    clearProgress()
                    let message = "\(name) diverged at step \(step) (loss or gradients not finite); it stops, the others go on — try a lower learning rate (lr=…)"
                    if style == .json { write(JSONLine.object([("run", .string(name)), ("step", .int(step)), ("diverged", .string(message))])) } else { say(message) }
                case .failed(let message):
                    clearProgress()
                    throw EngineError("\(name): \(message)")
                case .statisticsMeasured, .saveDue, .finished, .logged:
                    break
                }
            }
        }
        drawProgress(force: true)
        drawnLines = 0
        return board
    }
}
