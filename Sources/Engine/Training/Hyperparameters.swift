import DataLoaders

/// Everything about a run that may change while it trains (the controls panel edits these;
/// the trainer applies them between steps).
public struct Hyperparameters: Codable, Sendable, Equatable {
    public var variant: ConvVariant = .cosine
    public var optimizer: OptimizerKind = .adamDefault
    public var schedule = LearningRateSchedule(base: 1e-3)
    /// Coupled L2 on the classifier, BN γ/β and plain-conv weights (spherenet.md §4).
    public var weightDecay: Float = 5e-4
    /// λ of the orthogonality penalty on SphereConv layers.
    public var orthogonality: Float = 1e-4
    public var head: HeadKind = .linear
    public var crossEntropy: CrossEntropyOptions = .plain
    public var batchSize: Int = 128
    /// Evaluate on the test set every this many steps (0: never automatically).
    public var evalEvery: Int = 500
    /// Measure kernel-angle statistics every this many steps.
    public var statsEvery: Int = 25

    public init() {}

    public static let batchSizeRange = 1...1024

    public func validate() throws {
        guard Hyperparameters.batchSizeRange.contains(batchSize) else {
            throw EngineError("batch size \(batchSize) is out of range 1…1024")
        }
        guard schedule.base.isFinite, schedule.base > 0, schedule.base <= 10 else {
            throw EngineError("learning rate \(schedule.base) must be in (0, 10]")
        }
        guard weightDecay.isFinite, weightDecay >= 0, weightDecay < 1 else { throw EngineError("weight decay \(weightDecay) must be in [0, 1)") }
        guard orthogonality.isFinite, orthogonality >= 0, orthogonality < 10 else {
            throw EngineError("orthogonality weight \(orthogonality) must be in [0, 10)")
        }
        guard evalEvery >= 0, statsEvery >= 1 else { throw EngineError("evaluation and statistics intervals must be positive") }
        switch optimizer {
        case .adam(let b1, let b2, let eps):
            guard (0..<1).contains(b1), (0..<1).contains(b2), eps > 0 else { throw EngineError("Adam needs 0 ≤ β1, β2 < 1 and ε > 0") }
        case .sgd(let m):
            guard (0..<1).contains(m) else { throw EngineError("SGD momentum \(m) must be in [0, 1)") }
        }
        do { try head.validate(); try crossEntropy.validate() } catch { throw EngineError("\(error)") }
    }
}

/// What a run trains on and how it starts. Fixed for the life of a run (saved in snapshots).
public struct RunSetup: Codable, Sendable, Equatable {
    public var dataset: DatasetKind
    public var model: ModelSpec
    public var seed: UInt64
    public var augmentation: Augmentation
    /// Test examples per evaluation (nil: the whole test set).
    public var evaluationLimit: Int?

    public init(dataset: DatasetKind, model: ModelSpec, seed: UInt64, augmentation: Augmentation, evaluationLimit: Int? = nil) {
        self.dataset = dataset; self.model = model; self.seed = seed
        self.augmentation = augmentation; self.evaluationLimit = evaluationLimit
    }
}
