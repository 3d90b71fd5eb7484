import Foundation
import Engine
import TUI

/// `spherelab train`: drives a `TrainingSession` on the calling thread and prints its events —
/// JSON lines (`--json`), a progress bar on a terminal, or plain lines. The loop and its
/// bookkeeping (history, evaluations, best accuracy, saves due) are the session's.
public struct HeadlessTraining {
    public enum OutputStyle: Sendable { case json, progressBar, plain }

    public let style: OutputStyle
    /// Where to write snapshots (`--save`), and how often (`--save-every`, steps).
    public var saveTarget: (archive: SessionArchive, name: String)?
    public var saveEvery: Int?
    public var write: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
    public var writeProgress: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    /// The progress line's terminal width (nil: unknown, nothing is cut).
    public var columns: () -> Int? = { ConsoleWidth.columns() }
    /// How lines for people are spelled (`--ascii`, or a locale without UTF-8: `.ascii`, as
    /// the workbench draws); JSON lines are data and stay as they are.
    public var glyphs: GlyphSet

    public init(style: OutputStyle, glyphs: GlyphSet = .unicode) {
        self.style = style
        self.glyphs = glyphs
    }

    /// A line for people on stdout, spelled for `glyphs`.
    public func say(_ text: String) { write(glyphs.text(text)) }

    /// Progress text for people on stderr, spelled for `glyphs`.
    func show(_ text: String) { writeProgress(glyphs.text(text)) }

    /// Trains `steps` more steps (default: one epoch), evaluating on the session's schedule and
    /// at the end. Returns the final evaluation.
    @discardableResult
    public func run(_ run: OpenedRun, steps: Int?, trainModeEvaluation: Bool = false) throws -> EvaluationResult? {
        let session = run.session
        let trainer = session.trainer
        let steps = steps ?? trainer.stepsPerEpoch
        try session.run(steps: steps)
        session.apply(.setTrainModeEvaluation(trainModeEvaluation))
        session.saveEvery = saveTarget == nil ? nil : saveEvery
        let first = trainer.step, target = first + steps
        if style != .json {
            say("training \(trainer.model.displayName) (\(trainer.network.parameterCount) parameters), \(trainer.hyper.variant.operatorPhrase), \(trainer.hyper.optimizer.name) lr \(trainer.learningRate), batch \(trainer.hyper.batchSize), \(steps) \(steps == 1 ? "step" : "steps") on \(session.labels.dataset)")
        }
        let start = Date()
        var last: EvaluationResult?
        var smoothed: Double?
        var recentAccuracy: [Double] = []
        var progressShown = false
        func endProgressLine() { if progressShown { show("\n"); progressShown = false } }
        while session.state == .running {
            if let signal = StopSignals.pending {
                endProgressLine()
                try stop(run, signal: signal)
            }
            if session.evaluationIsNext, style == .progressBar {
                writeProgress("\r" + ProgressBar.line(fraction: Double(trainer.step - first) / Double(steps),
                                                       suffix: " evaluating \(trainer.evaluationExamples) test images…",
                                                       columns: columns(), glyphs: glyphs, widest: 24))
                progressShown = true
            }
            for event in session.advance() {
                switch event {
                case .stepFinished(let r):
                    smoothed = smoothed.map { 0.95 * $0 + 0.05 * r.loss } ?? r.loss
                    recentAccuracy.append(r.accuracy)
                    if recentAccuracy.count > 50 { recentAccuracy.removeFirst() }
                    switch style {
                    case .json:
                        write(JSONLine.object([("step", .int(r.step)), ("loss", .double(r.loss)), ("accuracy", .double(r.accuracy)),
                                               ("lr", .double(Double(r.learningRate))), ("images_per_sec", .double(r.imagesPerSecond)),
                                               ("elapsed", .double(session.history.elapsedSeconds))]))
                    case .progressBar:
                        let done = Double(r.step - first) / Double(steps)
                        let t = session.telemetry()
                        let eta = t.secondsToRunEnd ?? (done > 0 ? Date().timeIntervalSince(start) / done * (1 - done) : 0)
                        let acc = recentAccuracy.reduce(0, +) / Double(recentAccuracy.count)
                        let text = String(format: " %5d/%d  loss %.4f  acc %5.1f%%  %5.0f img/s  ETA ", r.step, target,
                                          smoothed ?? r.loss, 100 * acc, r.imagesPerSecond) + ProgressBar.duration(eta)
                        writeProgress("\r" + ProgressBar.line(fraction: done, suffix: text, columns: columns(), glyphs: glyphs, widest: 24))
                        progressShown = true
                    case .plain:
                        if r.step % 50 == 0 || r.step == target {
                            say(String(format: "step %d  loss %.4f  acc %.1f%%  lr %.3g  %.0f img/s", r.step, smoothed ?? r.loss, 100 * r.accuracy,
                                         Double(r.learningRate), r.imagesPerSecond))
                        }
                    }
                case .evaluationFinished(let e):
                    last = e
                    switch style {
                    case .json:
                        var fields: [(String, JSONLine.Value)] = [("step", .int(e.step)), ("test_accuracy", .double(e.accuracy)), ("test_loss", .double(e.loss))]
                        if let t = e.trainModeAccuracy { fields.append(("test_accuracy_train_bn", .double(t))) }
                        fields.append(("elapsed", .double(session.history.elapsedSeconds)))
                        write(JSONLine.object(fields))
                    case .progressBar, .plain:
                        endProgressLine()
                        say(String(format: "step %d: test accuracy %.2f%%  test loss %.4f  (%d examples, %.1fs)", e.step, 100 * e.accuracy, e.loss, e.examples, e.seconds))
                    }
                case .saveDue:
                    endProgressLine()
                    try saveOrRescue(run)
                case .diverged(let step, _):
                    endProgressLine()
                    throw EngineError("training diverged at step \(step) (loss or gradients not finite); try a lower learning rate (--lr)")
                case .failed(let message):
                    endProgressLine()
                    throw EngineError(message)
                case .evaluationStarted, .statisticsMeasured, .finished, .logged:
                    break
                }
            }
        }
        endProgressLine()
        if let signal = StopSignals.pending { try stop(run, signal: signal) }
        if saveTarget != nil { try saveOrRescue(run) }
        if style != .json {
            say("done in " + ProgressBar.duration(Date().timeIntervalSince(start)))
        }
        return last
    }

    /// A stop signal arrived: save what is unsaved (or say plainly why not), then end the run.
    func stop(_ run: OpenedRun, signal: Int32) throws -> Never {
        let name = StopSignals.name(signal), step = run.trainer.step, unsaved = run.session.unsavedSteps
        if saveTarget != nil && unsaved > 0 {
            note("\(name) at step \(step): saving \(unsaved) unsaved steps before stopping")
            try saveOrRescue(run)
        } else if unsaved > 0 {
            note("\(name) at step \(step): stopping; \(unsaved) steps are not saved because no --save NAME was given")
        } else {
            note("\(name) at step \(step): stopping; nothing unsaved")
        }
        throw StoppedBySignal(signal: signal)
    }

    /// A line for people: on stderr, so a --json stdout stays one object per line.
    func note(_ text: String) { show(text + "\n") }

    /// Saves to the target; when that fails after the run, keeps the run in an emergency
    /// snapshot under `SessionArchive.emergencyRoot` and says where (then fails).
    func saveOrRescue(_ run: OpenedRun) throws {
        do {
            try save(run)
        } catch {
            guard let (_, name) = saveTarget else { throw error }
            let rescue = SessionArchive(root: SessionArchive.emergencyRoot)
            let rescueName = "emergency-\(name)-step\(run.trainer.step)"
            let path: String
            do {
                path = try rescue.write(rescue.capture(run.session, identity: run.identity), name: rescueName)
            } catch let rescueError {
                throw EngineError("the snapshot could not be saved (\(error)), nor an emergency copy in \(SessionArchive.emergencyRoot) (\(rescueError)); the run's steps are lost")
            }
            throw EngineError("the snapshot could not be saved (\(error)); the run was kept in \(path) instead — resume it from there (train --resume \(path)) or move it where you want it")
        }
    }

    /// Writes the snapshot (atomically) and says where.
    func save(_ run: OpenedRun) throws {
        guard let (archive, name) = saveTarget else { return }
        let path = try archive.write(archive.capture(run.session, identity: run.identity), name: name)
        run.session.apply(.markSaved(path))
        if style == .json {
            write(JSONLine.object([("step", .int(run.trainer.step)), ("saved", .string(path))]))
        } else {
            say("saved \(path) at step \(run.trainer.step)")
        }
    }
}

/// A minimal JSON-lines writer: flat objects with numbers and strings, keys in the given order.
public enum JSONLine {
    public enum Value { case int(Int), double(Double), string(String), bool(Bool) }

    public static func object(_ fields: [(String, Value)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\(render($0.1))" }.joined(separator: ",") + "}"
    }

    static func render(_ v: Value) -> String {
        switch v {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(format: "%.6g", d) : "null"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s):
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                default:
                    if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
                }
            }
            return out + "\""
        }
    }
}

public enum ProgressBar {
    /// `[████····]`, in ASCII `[####....]`.
    public static func render(fraction: Double, width: Int, glyphs: GlyphSet = .unicode) -> String {
        let f = min(1, max(0, fraction.isFinite ? fraction : 0))
        let filled = Int((f * Double(width)).rounded(.down))
        let (done, todo) = glyphs == .ascii ? ("#", ".") : ("█", "·")
        return "[" + String(repeating: done, count: filled) + String(repeating: todo, count: width - filled) + "]"
    }

    /// One progress line, `prefix` + bar + `suffix`, spelled for `glyphs` and kept within
    /// `columns - 1` characters when the terminal's width is known: the bar shrinks from `widest`
    /// down to 8 cells, then the line is cut. A wrapped line would break the `\r` redraw (each
    /// update would leave a line behind). Ends by clearing the rest of the screen line.
    public static func line(prefix: String = "", fraction: Double, suffix: String, columns: Int?, glyphs: GlyphSet, widest: Int) -> String {
        let before = glyphs.text(prefix), after = glyphs.text(suffix)
        guard let columns else { return before + render(fraction: fraction, width: widest, glyphs: glyphs) + after + "\u{1B}[K" }
        let room = columns - 1
        let width = min(widest, max(8, room - before.count - after.count - 2))
        let full = before + render(fraction: fraction, width: width, glyphs: glyphs) + after
        return String(full.prefix(max(0, room))) + "\u{1B}[K"
    }

    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
