import Engine
import DataLoaders

/// What a run trains on and how it starts. Fixed for the life of a run (saved in snapshots
/// as `setup`). The engine sees only the model, the seed and the batch sources built from it.
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

/// What a snapshot must know of a run besides the session itself: its setup and the
/// fingerprint of the training data it was trained on.
public struct RunIdentity: Sendable, Equatable {
    public var setup: RunSetup
    public var datasetFingerprint: String
    public init(setup: RunSetup, datasetFingerprint: String) {
        self.setup = setup; self.datasetFingerprint = datasetFingerprint
    }
}

/// A run ready to train: its session (not yet handed to any queue) and its identity.
public struct OpenedRun {
    public let session: TrainingSession
    public let identity: RunIdentity
    public var trainer: Trainer { session.trainer }
}

/// Builds trainers from a setup and loaded data: the app's half of the engine's data
/// protocol (the training stream and the test set come from DataLoaders).
public enum RunFactory {
    public static func trainer(setup: RunSetup, data: DatasetPair, hyper: Hyperparameters, workspace: Workspace = Workspace()) throws -> Trainer {
        guard setup.augmentation.isValid else { throw EngineError("augmentation pad/crop must be in 0…\(Augmentation.maximumPadCrop)") }
        // Estimate first: nothing of the model is allocated when it cannot fit.
        try MachineMemory.check(try ModelPlan(spec: setup.model), batchSize: hyper.batchSize)
        let stream = BatchIterator(set: data.train, seed: setup.seed, augmentation: setup.augmentation)
        return try Trainer(model: setup.model, seed: setup.seed, hyper: hyper, training: stream, test: data.test,
                           evaluationLimit: setup.evaluationLimit, workspace: workspace)
    }

    /// The trainer wrapped in a session named for people.
    public static func open(setup: RunSetup, data: DatasetPair, hyper: Hyperparameters, runName: String, history: RunHistory = RunHistory(),
                            totalSteps: Int? = nil, startPaused: Bool = false, resumedFrom: String? = nil,
                            workspace: Workspace = Workspace()) throws -> OpenedRun {
        let trainer = try trainer(setup: setup, data: data, hyper: hyper, workspace: workspace)
        let labels = RunLabels(runName: runName, dataset: setup.dataset.rawValue, model: setup.model.displayName,
                               classNames: setup.dataset.classNames)
        let session = try TrainingSession(trainer: trainer, labels: labels, history: history, totalSteps: totalSteps,
                                          startPaused: startPaused, resumedFrom: resumedFrom)
        return OpenedRun(session: session, identity: RunIdentity(setup: setup, datasetFingerprint: data.train.fingerprint))
    }
}
