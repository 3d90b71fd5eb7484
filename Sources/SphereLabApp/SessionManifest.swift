import Foundation
import Engine
import DataLoaders

/// The app's part of `session.json` (the store checks `format`, `version`, `summary`).
/// Everything needed to rebuild the run exactly: the setup, the live hyperparameters, the
/// position in the data, and the history the charts show (bounded: see `MetricSeries`).
public struct SessionManifest: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var name: String
        public var runName: String
        public var savedAt: String
        public var step: Int
        public var dataset: String
        public var model: String
        public var variant: String
        public var bestTestAccuracy: Double?
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
    public var summary: Summary
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

    /// Non-finite numbers (a NaN test loss) are written as the strings "nan", "inf", "-inf"
    /// and read back the same way, so a snapshot that saves always loads.
    static let nonFinite = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFinite.positiveInfinity,
                                                                 negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return e
    }

    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: nonFinite.positiveInfinity,
                                                                  negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return d
    }
}
