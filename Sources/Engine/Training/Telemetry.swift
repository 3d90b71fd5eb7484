/// The state of a run as the UI sees it.
public enum RunState: String, Sendable, Codable {
    case running = "RUNNING", paused = "PAUSED", diverged = "DIVERGED", finished = "FINISHED", saving = "SAVING", stopped = "STOPPED"
}

/// (step, value) for the charts.
public struct MetricPoint: Sendable, Equatable, Codable {
    public var step: Int
    public var value: Double
    public init(step: Int, value: Double) { self.step = step; self.value = value }
}

public struct RunEvent: Sendable, Equatable, Codable {
    public enum Level: String, Sendable, Codable { case info, warning, error }
    public var step: Int
    public var level: Level
    public var text: String
    public init(step: Int, level: Level = .info, text: String) { self.step = step; self.level = level; self.text = text }
}

/// Per layer, the angle statistics over time. Old entries are merged pairwise (histograms
/// summed) when the history grows past `capacity`, so the whole run stays represented.
public struct AngleHistory: Sendable, Equatable, Codable {
    public var entries: [LayerAngles] = []
    public static let capacity = 256

    public init() {}

    public mutating func append(_ a: LayerAngles) {
        entries.append(a)
        guard entries.count > AngleHistory.capacity else { return }
        var merged: [LayerAngles] = []
        merged.reserveCapacity(entries.count / 2 + 1)
        var i = 0
        while i + 1 < entries.count - 1 {   // keep the newest entry as it is
            var a = entries[i + 1]
            let b = entries[i]
            for j in 0..<a.patchAngles.count { a.patchAngles[j] += b.patchAngles[j] }
            a.percentiles = zip(a.percentiles, b.percentiles).map { ($0 + $1) / 2 }
            merged.append(a)
            i += 2
        }
        merged.append(contentsOf: entries[i...])
        entries = merged
    }
}

/// An immutable picture of the run, published by the trainer at step boundaries. The UI
/// reads the latest one each frame; nothing in it refers to trainer memory.
public struct Telemetry: Sendable {
    public var sequence = 0
    public var runName = ""
    public var dataset = ""
    public var model = ""
    public var setup: RunSetup?
    public var hyper = Hyperparameters()
    public var state: RunState = .paused
    public var step = 0
    public var epoch = 0
    public var stepsPerEpoch = 0
    public var totalSteps: Int?
    public var learningRate: Float = 0
    public var imagesPerSecond = 0.0
    public var trainLoss: [MetricPoint] = []
    public var trainAccuracy: [MetricPoint] = []
    public var testLoss: [MetricPoint] = []
    public var testAccuracy: [MetricPoint] = []
    public var testAccuracyTrainModeBN: [MetricPoint] = []
    public var bestTestAccuracy: Double?
    /// Latest statistics per SphereConv-capable layer, in network order.
    public var angles: [LayerAngles] = []
    public var angleHistory: [String: AngleHistory] = [:]
    public var events: [RunEvent] = []
    /// The snapshot this run came from, if any.
    public var resumedFrom: String?
    /// Steps since the last save (for "save before quitting?").
    public var unsavedSteps = 0
    public var isEvaluating = false

    public init() {}

    /// Seconds to the end of the epoch at the current speed.
    public var secondsToEpochEnd: Double? {
        guard imagesPerSecond > 0, stepsPerEpoch > 0 else { return nil }
        let remaining = stepsPerEpoch - step % stepsPerEpoch
        return Double(remaining * hyper.batchSize) / imagesPerSecond
    }

    /// Seconds to the end of the run (when it has a length).
    public var secondsToRunEnd: Double? {
        guard let total = totalSteps, imagesPerSecond > 0 else { return nil }
        return Double(max(0, total - step) * hyper.batchSize) / imagesPerSecond
    }
}
