import Foundation
import Engine

/// `spherelab train`: the same trainer as the workbench, driven directly on the calling
/// thread. Output: JSON lines (`--json`), a progress bar on a terminal, or plain lines.
public struct HeadlessTraining {
    public enum OutputStyle: Sendable { case json, progressBar, plain }

    public let request: RunRequest
    public let style: OutputStyle
    public var trainModeEvaluation = false
    /// Where to write snapshots (`--save`), and how often (`--save-every`, steps).
    public var saveTarget: (archive: SessionArchive, name: String)?
    public var saveEvery: Int?
    /// The run's history so far (from a resumed snapshot), extended as it trains and saved
    /// with every snapshot.
    public var history = Telemetry()
    public var write: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }

    public init(request: RunRequest, style: OutputStyle) {
        self.request = request; self.style = style
    }

    /// Trains `steps` steps (default: one epoch), evaluating every `evalEvery` steps and at
    /// the end. Returns the final evaluation.
    @discardableResult
    public mutating func run(trainer: Trainer) throws -> EvaluationResult? {
        history.runName = history.runName.isEmpty ? request.runName : history.runName
        history.totalSteps = nil
        let steps = request.steps ?? trainer.stepsPerEpoch
        let evalEvery = trainer.hyper.evalEvery
        let start = Date()
        var last: EvaluationResult?
        var smoothed: Double?
        var recentAccuracy: [Double] = []
        if style != .json {
            write("training \(trainer.setup.model.displayName) (\(trainer.network.parameterCount) parameters), \(trainer.hyper.variant) SphereConv, \(trainer.hyper.optimizer.name) lr \(trainer.learningRate), batch \(trainer.hyper.batchSize), \(steps) steps on \(trainer.setup.dataset.rawValue)")
        }
        let target = trainer.step + steps
        while trainer.step < target {
            let r = try trainer.trainStep()
            guard r.loss.isFinite else {
                throw EngineError("training diverged at step \(r.step + 1) (loss or gradients not finite); try a lower learning rate (--lr)")
            }
            history.trainLoss.append(MetricPoint(step: r.step, value: r.loss))
            history.trainAccuracy.append(MetricPoint(step: r.step, value: r.accuracy))
            smoothed = smoothed.map { 0.95 * $0 + 0.05 * r.loss } ?? r.loss
            recentAccuracy.append(r.accuracy)
            if recentAccuracy.count > 50 { recentAccuracy.removeFirst() }
            switch style {
            case .json:
                write(JSONLine.object([("step", .int(r.step)), ("loss", .double(r.loss)), ("lr", .double(Double(r.learningRate))),
                                       ("images_per_sec", .double(r.imagesPerSecond))]))
            case .progressBar:
                let elapsed = Date().timeIntervalSince(start)
                let done = Double(r.step - (target - steps)) / Double(steps)
                let eta = done > 0 ? elapsed / done * (1 - done) : 0
                let acc = recentAccuracy.reduce(0, +) / Double(recentAccuracy.count)
                let bar = ProgressBar.render(fraction: done, width: 24)
                let line = "\r" + bar + String(format: " %5d/%d  loss %.4f  acc %5.1f%%  %5.0f img/s  ETA ", r.step, target,
                                                       smoothed ?? r.loss, 100 * acc, r.imagesPerSecond) + ProgressBar.duration(eta) + " "
                FileHandle.standardError.write(Data(line.utf8))
            case .plain:
                if r.step % 50 == 0 || r.step == target {
                    write(String(format: "step %d  loss %.4f  lr %.3g  %.0f img/s", r.step, smoothed ?? r.loss, Double(r.learningRate), r.imagesPerSecond))
                }
            }
            if (evalEvery > 0 && r.step % evalEvery == 0) || r.step == target {
                let e = try trainer.evaluate(trainModeBatchNorm: trainModeEvaluation)
                last = e
                history.testAccuracy.append(MetricPoint(step: e.step, value: e.accuracy))
                history.testLoss.append(MetricPoint(step: e.step, value: e.loss))
                if let t = e.trainModeAccuracy { history.testAccuracyTrainModeBN.append(MetricPoint(step: e.step, value: t)) }
                history.bestTestAccuracy = max(history.bestTestAccuracy ?? 0, e.accuracy)
                history.events.append(RunEvent(step: e.step, text: String(format: "test accuracy %.2f%%", 100 * e.accuracy)))
                switch style {
                case .json:
                    var fields: [(String, JSONLine.Value)] = [("step", .int(e.step)), ("test_accuracy", .double(e.accuracy)), ("test_loss", .double(e.loss))]
                    if let t = e.trainModeAccuracy { fields.append(("test_accuracy_train_bn", .double(t))) }
                    write(JSONLine.object(fields))
                case .progressBar, .plain:
                    if style == .progressBar { FileHandle.standardError.write(Data("\n".utf8)) }
                    write(String(format: "step %d: test accuracy %.2f%%  test loss %.4f  (%d examples)", e.step, 100 * e.accuracy, e.loss, e.examples))
                }
            }
            if let every = saveEvery, every > 0, r.step % every == 0, r.step != target { try save(trainer) }
        }
        if saveTarget != nil { try save(trainer) }
        if style != .json {
            write("done in " + ProgressBar.duration(Date().timeIntervalSince(start)))
        }
        return last
    }

    /// Writes the snapshot (atomically) and says where.
    mutating func save(_ trainer: Trainer) throws {
        guard let (archive, name) = saveTarget else { return }
        history.angleHistory = [:]
        for a in trainer.angleStatistics() { history.angleHistory[a.layer, default: AngleHistory()].append(a) }
        let path = try archive.write(archive.capture(trainer, telemetry: history), name: name)
        history.events.append(RunEvent(step: trainer.step, text: "saved \(path)"))
        if style == .json {
            write(JSONLine.object([("step", .int(trainer.step)), ("saved", .string(path))]))
        } else {
            if style == .progressBar { FileHandle.standardError.write(Data("\n".utf8)) }
            write("saved \(path) at step \(trainer.step)")
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
    public static func render(fraction: Double, width: Int) -> String {
        let f = min(1, max(0, fraction.isFinite ? fraction : 0))
        let filled = Int((f * Double(width)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "]"
    }

    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
