/// A request from the UI (or a script) to the trainer, applied between steps.
public enum TrainerCommand: Sendable, Equatable {
    case pause
    case resume
    case togglePause
    /// One step while paused.
    case stepOnce
    case evaluateNow
    case setLearningRate(Float)
    case scaleLearningRate(Float)
    case setVariant(ConvVariant)
    case setOptimizer(OptimizerKind)
    case setWeightDecay(Float)
    case setOrthogonality(Float)
    /// The loss, with the name the user chose it by (logged and drawn as a marker).
    case setHead(HeadKind, CrossEntropyOptions, label: String)
    case setBatchSize(Int)
    case setEvalEvery(Int)
    /// Kernel-angle statistics every N steps (the experiment runner aligns them with evaluations).
    case setStatsEvery(Int)
    /// Measure train-mode-BN accuracy at evaluations too.
    case setTrainModeEvaluation(Bool)
    /// Adds a line to the event log (e.g. "saved snapshot …").
    case log(String, RunEvent.Level)
    /// Marks the current progress as saved.
    case markSaved(String)
    case quit
}
