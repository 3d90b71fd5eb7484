import Foundation
import Engine

/// A run's record for other tools: one row per recorded step (train loss and accuracy, test
/// loss and accuracy where evaluated, learning rate, variant, compute seconds) and the event
/// list. Steps the history keeps as min/mean/max buckets give one row per bucket: the mean in
/// the value column, the extremes in the `_min`/`_max` columns, `steps` how many it stands for.
public enum RunExport {
    public enum Format: String, CaseIterable, Sendable { case csv, jsonl }

    public struct StepRow: Equatable, Sendable {
        public var step: Int
        public var seconds: Double?
        public var trainLoss: Double?, trainLossMin: Double?, trainLossMax: Double?
        public var trainAccuracy: Double?, trainAccuracyMin: Double?, trainAccuracyMax: Double?
        public var testLoss: Double?, testAccuracy: Double?
        public var learningRate: Double?
        public var variant: String?
        /// Steps this row stands for (1 at full resolution).
        public var steps: Int
    }

    /// The rows in step order: every train point or bucket, plus evaluations at steps without one.
    public static func rows(_ h: RunHistory, finalVariant: String? = nil) -> [StepRow] {
        var byStep: [Int: StepRow] = [:]
        func row(_ step: Int) -> StepRow {
            byStep[step] ?? StepRow(step: step, steps: 1)
        }
        func counts(_ s: MetricSeries) -> [Int: Int] {
            var c: [Int: Int] = [:]
            for b in s.buckets { c[b.lastStep] = b.count }
            return c
        }
        let bucketSizes = counts(h.trainLoss)
        for p in h.trainLoss.spans {
            var r = row(p.step)
            r.seconds = p.seconds; r.trainLoss = p.mean; r.trainLossMin = p.min; r.trainLossMax = p.max
            r.steps = bucketSizes[p.step] ?? 1
            byStep[p.step] = r
        }
        for p in h.trainAccuracy.spans {
            var r = row(p.step)
            r.trainAccuracy = p.mean; r.trainAccuracyMin = p.min; r.trainAccuracyMax = p.max
            r.seconds = r.seconds ?? p.seconds
            byStep[p.step] = r
        }
        for p in h.learningRate.spans {
            var r = row(p.step)
            r.learningRate = p.mean
            byStep[p.step] = r
        }
        for p in h.testLoss.points { var r = row(p.step); r.testLoss = p.value; r.seconds = r.seconds ?? p.seconds; byStep[p.step] = r }
        for p in h.testAccuracy.points { var r = row(p.step); r.testAccuracy = p.value; r.seconds = r.seconds ?? p.seconds; byStep[p.step] = r }
        return byStep.keys.sorted().map { step in
            var r = byStep[step]!
            r.variant = h.variant(atStep: step) ?? finalVariant
            return r
        }
    }

    public static let csvHeader = ["kind", "step", "seconds", "train_loss", "train_loss_min", "train_loss_max",
                                   "train_accuracy", "train_accuracy_min", "train_accuracy_max", "test_loss", "test_accuracy",
                                   "learning_rate", "variant", "steps", "level", "marker", "text"]

    /// The history as CSV: a header row, then step rows and event rows (`kind` says which) in step order.
    public static func csv(_ h: RunHistory, finalVariant: String? = nil) -> String {
        var out = csvHeader.joined(separator: ",") + "\n"
        for item in merged(h, finalVariant: finalVariant) {
            var fields = [String](repeating: "", count: csvHeader.count)
            switch item {
            case .step(let r):
                fields[0] = "step"; fields[1] = String(r.step); fields[2] = number(r.seconds)
                fields[3] = number(r.trainLoss); fields[4] = number(r.trainLossMin); fields[5] = number(r.trainLossMax)
                fields[6] = number(r.trainAccuracy); fields[7] = number(r.trainAccuracyMin); fields[8] = number(r.trainAccuracyMax)
                fields[9] = number(r.testLoss); fields[10] = number(r.testAccuracy); fields[11] = number(r.learningRate)
                fields[12] = quoted(r.variant ?? ""); fields[13] = String(r.steps)
            case .event(let e):
                fields[0] = "event"; fields[1] = String(e.step); fields[14] = e.level.rawValue
                fields[15] = quoted(e.marker ?? ""); fields[16] = quoted(e.text)
            }
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The history as JSON lines: `{"type":"step",…}` and `{"type":"event",…}` in step order.
    public static func jsonl(_ h: RunHistory, finalVariant: String? = nil) -> String {
        var out = ""
        for item in merged(h, finalVariant: finalVariant) {
            var fields: [(String, JSONLine.Value)]
            switch item {
            case .step(let r):
                fields = [("type", .string("step")), ("step", .int(r.step))]
                func add(_ name: String, _ v: Double?) { if let v { fields.append((name, .double(v))) } }
                add("seconds", r.seconds)
                add("train_loss", r.trainLoss)
                if r.steps > 1 { add("train_loss_min", r.trainLossMin); add("train_loss_max", r.trainLossMax) }
                add("train_accuracy", r.trainAccuracy)
                if r.steps > 1 { add("train_accuracy_min", r.trainAccuracyMin); add("train_accuracy_max", r.trainAccuracyMax) }
                add("test_loss", r.testLoss)
                add("test_accuracy", r.testAccuracy)
                add("learning_rate", r.learningRate)
                if let v = r.variant { fields.append(("variant", .string(v))) }
                fields.append(("steps", .int(r.steps)))
            case .event(let e):
                fields = [("type", .string("event")), ("step", .int(e.step)), ("level", .string(e.level.rawValue)), ("text", .string(e.text))]
                if let m = e.marker { fields.append(("marker", .string(m))) }
            }
            out += JSONLine.object(fields) + "\n"
        }
        return out
    }

    enum Item { case step(StepRow), event(RunEvent) }

    /// Step rows and events in step order; at one step the step's row comes first.
    static func merged(_ h: RunHistory, finalVariant: String?) -> [Item] {
        let rows = rows(h, finalVariant: finalVariant)
        var out: [Item] = []
        out.reserveCapacity(rows.count + h.events.count)
        var i = 0
        for e in h.events {
            while i < rows.count, rows[i].step <= e.step { out.append(.step(rows[i])); i += 1 }
            out.append(.event(e))
        }
        while i < rows.count { out.append(.step(rows[i])); i += 1 }
        return out
    }

    /// Shortest exact form; empty for a missing value, `nan`/`inf` for non-finite ones.
    static func number(_ v: Double?) -> String {
        guard let v else { return "" }
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return "\(v)"
    }

    static func quoted(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension SessionArchive {
    /// A snapshot's history exported in `format`.
    public func export(path: String, format: RunExport.Format) throws -> String {
        let manifest = try readManifest(store.load(path: path), path: path)
        let h = manifest.history
        switch format {
        case .csv: return RunExport.csv(h, finalVariant: manifest.hyper.variant.name)
        case .jsonl: return RunExport.jsonl(h, finalVariant: manifest.hyper.variant.name)
        }
    }
}
