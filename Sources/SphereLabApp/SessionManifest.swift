import Foundation
import Engine
import DataLoaders
import SessionStore

/// The app's part of `session.json` (the store checks `format`, `version`, `summary`).
/// Everything needed to rebuild the run exactly: the setup, the live hyperparameters, the
/// position in the data, and the history the charts show (bounded: see `MetricSeries`).
public struct SessionManifest: Codable, Sendable {
    /// What listings show (Sessions/README.md): optional, every field optional, and read
    /// leniently — a missing, mistyped or implausible field is unknown (nil), never a reason
    /// to refuse a snapshot that otherwise loads.
    public struct Summary: Codable, Sendable {
        public var name: String?
        public var runName: String?
        public var savedAt: String?
        public var step: Int?
        public var dataset: String?
        public var model: String?
        public var variant: String?
        public var bestTestAccuracy: Double?

        public init(name: String? = nil, runName: String? = nil, savedAt: String? = nil, step: Int? = nil, dataset: String? = nil,
                    model: String? = nil, variant: String? = nil, bestTestAccuracy: Double? = nil) {
            self.name = name; self.runName = runName; self.savedAt = savedAt; self.step = step
            self.dataset = dataset; self.model = model; self.variant = variant; self.bestTestAccuracy = bestTestAccuracy
        }

        private enum CodingKeys: String, CodingKey { case name, runName, savedAt, step, dataset, model, variant, bestTestAccuracy }

        public init(from decoder: any Decoder) throws {
            guard let c = try? decoder.container(keyedBy: CodingKeys.self) else { return }
            name = try? c.decodeIfPresent(String.self, forKey: .name)
            runName = try? c.decodeIfPresent(String.self, forKey: .runName)
            savedAt = try? c.decodeIfPresent(String.self, forKey: .savedAt)
            step = (try? c.decodeIfPresent(Int.self, forKey: .step)).flatMap { $0 }.flatMap { $0 >= 0 ? $0 : nil }
            dataset = try? c.decodeIfPresent(String.self, forKey: .dataset)
            model = try? c.decodeIfPresent(String.self, forKey: .model)
            variant = try? c.decodeIfPresent(String.self, forKey: .variant)
            bestTestAccuracy = (try? c.decodeIfPresent(Double.self, forKey: .bestTestAccuracy)).flatMap { $0 }
                .flatMap { $0.isFinite && (0...1).contains($0) ? $0 : nil }
        }
    }
    public struct Metrics: Codable, Sendable {
        public var trainLoss: MetricSeries
        public var trainAccuracy: MetricSeries
        public var testLoss: MetricSeries
        public var testAccuracy: MetricSeries
        public var testAccuracyTrainModeBN: MetricSeries
        public var bestTestAccuracy: Double?
        /// Step of the best test accuracy (absent in snapshots written before it was kept).
        public var bestTestStep: Int?
        /// Training and evaluation seconds of the run so far.
        public var elapsedSeconds: Double?
        /// Learning rate per step and the variant changes (absent in snapshots written before them).
        public var learningRate: MetricSeries?
        public var variants: [StepLabel]?

        public init(_ h: RunHistory) {
            trainLoss = h.trainLoss; trainAccuracy = h.trainAccuracy; testLoss = h.testLoss; testAccuracy = h.testAccuracy
            testAccuracyTrainModeBN = h.testAccuracyTrainModeBN
            bestTestAccuracy = h.bestTestAccuracy?.value; bestTestStep = h.bestTestAccuracy?.step
            elapsedSeconds = h.elapsedSeconds
            learningRate = h.learningRate
            variants = h.variants
        }
    }

    public var format = "spherelab-session"
    public var version = 1
    /// Optional (Sessions/README.md): a session.json without one loads.
    public var summary: Summary?
    public var runName: String
    public var setup: RunSetup
    public var hyper: Hyperparameters
    /// Operator of every SphereConv-capable layer, by layer name.
    public var layerVariants: [String: ConvVariant]
    public var step: Int
    public var epoch: Int
    public var dataPosition: DataPosition
    public var datasetFingerprint: String
    public var totalSteps: Int?
    public var metrics: Metrics
    public var events: [RunEvent]
    public var angleHistory: [String: AngleHistory]

    /// The run's history as saved.
    public var history: RunHistory {
        var h = RunHistory()
        h.trainLoss = metrics.trainLoss
        h.trainAccuracy = metrics.trainAccuracy
        h.testLoss = metrics.testLoss
        h.testAccuracy = metrics.testAccuracy
        h.testAccuracyTrainModeBN = metrics.testAccuracyTrainModeBN
        if let best = metrics.bestTestAccuracy {
            h.bestTestAccuracy = MetricPoint(step: metrics.bestTestStep ?? metrics.testAccuracy.maximum?.step ?? step, value: best)
        }
        h.replaceEvents(events)
        h.angleHistory = angleHistory
        h.elapsedSeconds = metrics.elapsedSeconds ?? 0
        h.learningRate = metrics.learningRate ?? MetricSeries()
        h.variants = metrics.variants ?? []
        return h
    }

    /// session.json's coder: the store's one rule for non-finite numbers (NaN and ±∞ as the
    /// strings "nan", "inf", "-inf"), so a snapshot that saves always loads.
    public static var encoder: JSONEncoder { SessionJSON.makeEncoder() }
    public static var decoder: JSONDecoder { SessionJSON.makeDecoder() }

    /// Every number the run will compute with, checked through `Settings` before anything is
    /// built: a session.json holding a huge step, epoch, position or schedule is refused with
    /// a message, never a trap later.
    public func validate(path: String) throws {
        do {
            try Settings.savedStep.check(step)
            try Settings.savedEpoch.check(epoch)
            try Settings.savedEpoch.check(dataPosition.epoch)
            try Settings.dataIndex.check(dataPosition.index)
            if let total = totalSteps { try Settings.savedStep.check(total) }
            try setup.model.validate()
            if let limit = setup.evaluationLimit { try Settings.evaluationLimit.check(limit) }
            try hyper.validate()
        } catch {
            throw EngineError("\(path)/session.json: \(error); the snapshot is damaged — restore it from a copy or start a new run")
        }
    }
}
