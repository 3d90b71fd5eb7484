import Engine
import DataLoaders

/// Everything needed to start a run, gathered from the command line (or defaults for the
/// workbench) and checked before any work starts.
public struct RunRequest: Sendable {
    public var dataset: DatasetKind = .fashionMNIST
    public var modelName = "spherenet9"
    public var width = 0.25
    public var normalization: ModelSpec.Normalization = .batchNorm
    public var batchNormStatistics: BatchNormStatistics = .pytorch
    /// BatchNorm after fc6 (SphereNet only; `--fc6-bn off` for weights trained without it).
    public var fc6BatchNorm = true
    public var hyper = Hyperparameters()
    public var seed: UInt64 = 1
    public var steps: Int?
    public var evaluationLimit: Int?
    public var augmentation: Augmentation?
    public var datasetsDirectory = "Datasets"

    public init() {}

    /// The model for a dataset's image shape.
    public func modelSpec(for set: ImageSet) throws -> ModelSpec {
        try modelSpec(channels: set.channels, height: set.height, width: set.width, classes: set.classes)
    }

    /// The model for the dataset kind's declared image shape (known before loading it).
    public func modelSpec() throws -> ModelSpec {
        try modelSpec(channels: dataset.channels, height: dataset.height, width: dataset.width, classes: dataset.classes)
    }

    func modelSpec(channels: Int, height: Int, width imageWidth: Int, classes: Int) throws -> ModelSpec {
        let (arch, depth) = try ModelSpec.parseModelName(modelName)
        var spec = ModelSpec(architecture: arch, width: width, depthPerStage: depth, inputChannels: channels,
                             inputHeight: height, inputWidth: imageWidth, classes: classes)
        spec.normalization = normalization
        spec.batchNormStatistics = batchNormStatistics
        spec.fc6BatchNorm = fc6BatchNorm
        try spec.validate()
        return spec
    }

    /// Loads the data and opens the run (the slow part: reading the dataset).
    public func open(totalSteps: Int? = nil, startPaused: Bool = false) throws -> OpenedRun {
        try hyper.validate()
        _ = try ModelSpec.parseModelName(modelName)
        // Refuse a model that cannot fit before the dataset is read or anything is allocated.
        try MachineMemory.check(try ModelPlan(spec: try modelSpec()), batchSize: hyper.batchSize)
        let data = try DatasetLoader.load(dataset, datasetsDirectory: datasetsDirectory)
        return try RunFactory.open(setup: try setup(for: data), data: data, hyper: hyper, runName: runName,
                                   totalSteps: totalSteps, startPaused: startPaused)
    }

    /// The setup of a new run on `data`.
    public func setup(for data: DatasetPair) throws -> RunSetup {
        RunSetup(dataset: dataset, model: try modelSpec(for: data.train), seed: seed,
                 augmentation: augmentation ?? Augmentation.defaults(for: dataset), evaluationLimit: evaluationLimit)
    }

    /// Loads the data and builds just the trainer (evaluation of bare weights, tests).
    public func makeTrainer() throws -> Trainer {
        try open().trainer
    }

    /// A short name for the run: model-variant-dataset.
    public var runName: String { "\(modelName)-\(hyper.variant.name)-\(dataset.rawValue)" }
}
