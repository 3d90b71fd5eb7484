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

    public static let batchSizeRange = Settings.batchSize.lower...Settings.batchSize.upper

    /// Checks every value against its one declared range (`Settings`).
    public func validate() throws {
        try Settings.batchSize.check(batchSize)
        try Settings.learningRate.check(schedule.base)
        try Settings.weightDecay.check(weightDecay)
        try Settings.orthogonality.check(orthogonality)
        try Settings.evalEvery.check(evalEvery)
        try Settings.statsEvery.check(statsEvery)
        try Settings.scheduleFactor.check(schedule.factor)
        try Settings.milestoneCount.check(schedule.milestones.count)
        for m in schedule.milestones { try Settings.milestone.check(m) }
        switch optimizer {
        case .adam(let b1, let b2, let eps):
            try Settings.momentum.check(b1)
            try Settings.momentum.check(b2)
            guard eps.isFinite, eps > 0 else { throw EngineError("Adam's ε \(eps) must be a positive number") }
        case .sgd(let m):
            try Settings.momentum.check(m)
        }
        if case .generalizedAngular(let m, _) = head { try Settings.margin.check(m) }
        do { try head.validate(); try crossEntropy.validate() } catch { throw EngineError("\(error)") }
    }
}

