import Foundation
import Engine
import DataLoaders

/// The app's part of `session.json` (the store checks `format`, `version`, `summary`).
/// Everything needed to rebuild the run exactly: the setup, the live hyperparameters, the
/// position in the data, and the history the charts show.
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
        public var trainLoss: [MetricPoint]
        public var trainAccuracy: [MetricPoint]
        public var testLoss: [MetricPoint]
        public var testAccuracy: [MetricPoint]
        public var testAccuracyTrainModeBN: [MetricPoint]
        public var bestTestAccuracy: Double?
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
    public var dataPosition: BatchIterator.Position
    public var datasetFingerprint: String
    public var totalSteps: Int?
    public var metrics: Metrics
    public var events: [RunEvent]
    public var angleHistory: [String: AngleHistory]
}
