import Foundation

/// The state of a run as the UI sees it.
public enum RunState: String, Sendable, Codable {
    case running = "RUNNING", paused = "PAUSED", diverged = "DIVERGED", finished = "FINISHED", saving = "SAVING", stopped = "STOPPED"
    /// An attached remote job whose connection is lost (the job itself goes on).
    case disconnected = "DISCONNECTED"
}

/// One line of a run's event log. A change of the run (learning rate, variant, optimizer, …)
/// carries a short `marker` label that the charts draw at its step.
public struct RunEvent: Sendable, Equatable, Codable {
    public enum Level: String, Sendable, Codable { case info, warning, error }
    public var step: Int
    public var level: Level
    public var text: String
    /// Chart label of a change (`lr×2`, `→linear`, `sgd`); nil for plain log lines.
    public var marker: String?
    public init(step: Int, level: Level = .info, text: String, marker: String? = nil) {
        self.step = step; self.level = level; self.text = text; self.marker = marker
    }
}

/// Per layer, the angle statistics over time. Old entries are merged pairwise (histograms
/// summed) when the history grows past `capacity`, so the whole run stays represented.
public struct AngleHistory: Sendable, Equatable, Codable {
    public var entries: [LayerAngles] = []
    /// Entries kept; the session sizes it from the layer count so a snapshot stays small.
    public var capacity = AngleHistory.defaultCapacity
    public static let defaultCapacity = 256

    public init(capacity: Int = AngleHistory.defaultCapacity) { self.capacity = max(4, capacity) }

    enum CodingKeys: String, CodingKey { case entries, capacity }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decode([LayerAngles].self, forKey: .entries)
        capacity = try c.decodeIfPresent(Int.self, forKey: .capacity) ?? AngleHistory.defaultCapacity
        guard (4...4096).contains(capacity), entries.count <= capacity else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "an angle history holds at most its capacity (4…4096) of entries"))
        }
    }

    public mutating func append(_ a: LayerAngles) {
        entries.append(a)
        guard entries.count > capacity else { return }
        var merged: [LayerAngles] = []
        merged.reserveCapacity(entries.count / 2 + 1)
        var i = 0
        while i + 1 < entries.count - 1 {   // keep the newest entry as it is
            var a = entries[i + 1]
            let b = entries[i]
            for j in 0..<min(a.patchAngles.count, b.patchAngles.count) { a.patchAngles[j] += b.patchAngles[j] }
            a.percentiles = zip(a.percentiles, b.percentiles).map { ($0 + $1) / 2 }
            merged.append(a)
            i += 2
        }
        merged.append(contentsOf: entries[i...])
        entries = merged
    }
}

/// A name that holds from `step` on (e.g. the conv variant in use).
public struct StepLabel: Sendable, Equatable, Codable {
    public var step: Int
    public var name: String
    public init(step: Int, name: String) { self.step = step; self.name = name }
}

/// Everything a run has recorded, in bounded memory for any run length: the metric series,
/// the best test accuracy, the event log, the angle statistics over time and the compute
/// time spent. Saved with every snapshot and restored with it.
public struct RunHistory: Sendable, Equatable {
    public var trainLoss = MetricSeries()
    public var trainAccuracy = MetricSeries()
    public var testLoss = MetricSeries()
    public var testAccuracy = MetricSeries()
    /// Test accuracy with BatchNorm in train mode (batch statistics), when measured.
    public var testAccuracyTrainModeBN = MetricSeries()
    public var bestTestAccuracy: MetricPoint?
    /// The learning rate of each step (for exports; bounded like the other series).
    public var learningRate = MetricSeries()
    /// The variant in use from each step on: one entry per change (the first step's included).
    public var variants: [StepLabel] = []
    public private(set) var events: [RunEvent] = []
    public var angleHistory: [String: AngleHistory] = [:]
    /// Seconds of training and evaluation so far (carried over a resume).
    public var elapsedSeconds = 0.0

    /// Events kept (up to a tenth more between trims). When full, the oldest plain log lines
    /// go first; change markers stay while any plain line is left to drop.
    public static let eventCapacity = 1000
    /// Angle-history entries kept over all layers together.
    public static let angleEntryBudget = 640

    public init() {}

    /// O(1) amortised: the log may run a tenth over capacity, then one pass trims it.
    public mutating func log(_ e: RunEvent) {
        events.append(e)
        let capacity = RunHistory.eventCapacity
        guard events.count > capacity + capacity / 10 else { return }
        var excess = events.count - capacity
        var kept: [RunEvent] = []
        kept.reserveCapacity(capacity + capacity / 10)
        for old in events {
            if excess > 0 && old.marker == nil { excess -= 1; continue }
            kept.append(old)
        }
        if excess > 0 { kept.removeFirst(excess) }
        events = kept
    }

    public mutating func replaceEvents(_ list: [RunEvent]) {
        events = []
        for e in list.suffix(4 * RunHistory.eventCapacity) { log(e) }
    }

    mutating func record(_ r: StepResult, variant: String? = nil) {
        elapsedSeconds += r.seconds
        trainLoss.append(MetricPoint(step: r.step, value: r.loss, seconds: elapsedSeconds))
        trainAccuracy.append(MetricPoint(step: r.step, value: r.accuracy, seconds: elapsedSeconds))
        learningRate.append(MetricPoint(step: r.step, value: Double(r.learningRate), seconds: elapsedSeconds))
        if let variant, variants.last?.name != variant {
            variants.append(StepLabel(step: r.step, name: variant))
            if variants.count > RunHistory.eventCapacity { variants.removeFirst(variants.count - RunHistory.eventCapacity) }
        }
    }

    /// The variant recorded for `step` (nil before the first record).
    public func variant(atStep step: Int) -> String? {
        var found: String?
        for v in variants { if v.step <= step { found = v.name } else { break } }
        return found ?? variants.first?.name
    }

    mutating func record(_ e: EvaluationResult) {
        elapsedSeconds += e.seconds
        testAccuracy.append(MetricPoint(step: e.step, value: e.accuracy, seconds: elapsedSeconds))
        testLoss.append(MetricPoint(step: e.step, value: e.loss, seconds: elapsedSeconds))
        if let t = e.trainModeAccuracy {
            testAccuracyTrainModeBN.append(MetricPoint(step: e.step, value: t, seconds: elapsedSeconds))
        }
        if !e.accuracy.isNaN, e.accuracy > (bestTestAccuracy?.value ?? -1) {
            bestTestAccuracy = MetricPoint(step: e.step, value: e.accuracy, seconds: elapsedSeconds)
        }
    }

    mutating func record(_ angles: [LayerAngles]) {
        let perLayer = max(16, RunHistory.angleEntryBudget / max(1, angles.count)) & ~1
        for a in angles { angleHistory[a.layer, default: AngleHistory(capacity: perLayer)].append(a) }
    }
}

/// An immutable picture of the run, published by the session at step boundaries. The UI
/// reads the latest one each frame; nothing in it refers to trainer memory. Copying it is
/// cheap (copy-on-write arrays of bounded size).
public struct Telemetry: Sendable {
    public var sequence = 0
    public var runName = ""
    public var dataset = ""
    public var model = ""
    public var modelSpec: ModelSpec?
    public var hyper = Hyperparameters()
    public var state: RunState = .paused
    public var step = 0
    public var epoch = 0
    public var stepsPerEpoch = 0
    /// The step the run stops at (nil: until the user quits).
    public var totalSteps: Int?
    public var learningRate: Float = 0
    public var imagesPerSecond = 0.0
    public var history = RunHistory()
    /// Latest statistics per SphereConv-capable layer, in network order.
    public var angles: [LayerAngles] = []
    /// The SphereConv-capable layers' names in network order. The saved angle history is keyed
    /// by name, so a run reopened (or branched, or waiting for its turn in a race) shows its
    /// layers in this order until its first measurement.
    public var angleLayers: [String] = []
    /// The snapshot this run came from, if any.
    public var resumedFrom: String?
    /// Steps since the last save (for "save before quitting?").
    public var unsavedSteps = 0
    public var isEvaluating = false
    /// Examples per evaluation and the measured evaluation speed, for the ETA.
    public var evaluationExamples = 0
    public var evaluationSecondsEach: Double?
    /// The dataset's class names in label order (may be empty: number the classes then).
    public var classNames: [String] = []
    /// Per-class counts of the latest evaluation and its step.
    public var confusion: ConfusionCounts?
    public var confusionStep: Int?

    public init() {}

    public var trainLoss: [MetricPoint] { history.trainLoss.points }
    public var trainAccuracy: [MetricPoint] { history.trainAccuracy.points }
    public var testLoss: [MetricPoint] { history.testLoss.points }
    public var testAccuracy: [MetricPoint] { history.testAccuracy.points }
    public var testAccuracyTrainModeBN: [MetricPoint] { history.testAccuracyTrainModeBN.points }
    public var bestTestAccuracy: Double? { history.bestTestAccuracy?.value }
    public var events: [RunEvent] { history.events }
    public var angleHistory: [String: AngleHistory] { history.angleHistory }

    /// Seconds to the end of the epoch at the current speed.
    public var secondsToEpochEnd: Double? {
        guard imagesPerSecond > 0, stepsPerEpoch > 0 else { return nil }
        let remaining = stepsPerEpoch - step % stepsPerEpoch
        return Double(remaining * hyper.batchSize) / imagesPerSecond
    }

    /// Seconds to the end of the run (when it has a length), evaluations included.
    public var secondsToRunEnd: Double? {
        guard let total = totalSteps, imagesPerSecond > 0 else { return nil }
        let remaining = max(0, total - step)
        var seconds = Double(remaining) * Double(hyper.batchSize) / imagesPerSecond
        if let each = evaluationSecondsEach {
            let evaluations = hyper.evalEvery > 0 ? remaining / hyper.evalEvery + 1 : 1
            seconds += Double(evaluations) * each
        }
        return seconds
    }
}
