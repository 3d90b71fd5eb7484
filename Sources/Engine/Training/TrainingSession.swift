import Foundation

/// What happened in one call of `TrainingSession.advance()` or `apply(_:)`, in order.
public enum SessionEvent: Sendable, Equatable {
    /// A step was taken and recorded.
    case stepFinished(StepResult)
    /// An evaluation of `examples` test images begins (the front end may say so).
    case evaluationStarted(step: Int, examples: Int)
    case evaluationFinished(EvaluationResult)
    /// Kernel-angle statistics were measured at this step.
    case statisticsMeasured(step: Int)
    /// A step produced a non-finite loss or gradient; the run is paused with the state it
    /// had before that step.
    case diverged(step: Int, message: String)
    /// A step or an evaluation failed for another reason; the run is paused.
    case failed(String)
    /// The save interval came round: the front end writes a snapshot now.
    case saveDue(step: Int)
    /// The run reached its last step (after that step's evaluation).
    case finished(step: Int)
    /// A line was added to the event log (changes carry a chart marker).
    case logged(RunEvent)
}

/// How a session names its run for people (the app knows datasets and files; the engine does not).
public struct RunLabels: Sendable, Equatable {
    public var runName: String
    public var dataset: String
    public var model: String
    /// The dataset's class names in label order (empty: the views number the classes).
    public var classNames: [String]
    public init(runName: String, dataset: String, model: String, classNames: [String] = []) {
        self.runName = runName; self.dataset = dataset; self.model = model; self.classNames = classNames
    }
}

/// One run: a trainer, its history, and the schedule of evaluations, statistics and saves.
/// It advances by steps and answers with events; every front end (workbench, headless
/// `train`, the runners that drive several runs) drives sessions and none repeats this loop.
///
/// Not thread-safe: the owner calls it from one queue at a time (the workbench's
/// `TrainingController` from its trainer queue, headless `train` from the main thread).
public final class TrainingSession {
    public let trainer: Trainer
    public private(set) var history: RunHistory
    public private(set) var state: RunState
    public let labels: RunLabels
    /// The step the run stops at (nil: never on its own).
    public private(set) var totalSteps: Int?
    /// Emit `.saveDue` every this many steps (nil: never).
    public var saveEvery: Int?
    /// Also measure test accuracy with train-mode BatchNorm at evaluations.
    public private(set) var evaluatesTrainModeBN = false
    public private(set) var unsavedSteps = 0
    /// The snapshot this run was opened from.
    public let resumedFrom: String?
    public private(set) var imagesPerSecond = 0.0
    private var pendingSteps = 0
    private var evaluationDue = false
    /// The last step whose save and end were considered (so a later evaluation of the same
    /// step does not repeat them).
    private var closedStep: Int?
    private var latestAngles: [LayerAngles] = []
    private let angleLayers: [String]
    private var evaluationSecondsEach: Double?
    /// The latest evaluation's per-class counts.
    public private(set) var lastConfusion: (step: Int, counts: ConfusionCounts)?

    public init(trainer: Trainer, labels: RunLabels, history: RunHistory = RunHistory(), totalSteps: Int? = nil,
                startPaused: Bool = false, resumedFrom: String? = nil) throws {
        if let total = totalSteps { try Settings.savedStep.check(total) }
        self.trainer = trainer
        self.labels = labels
        self.history = history
        self.totalSteps = totalSteps
        self.resumedFrom = resumedFrom
        state = startPaused ? .paused : .running
        latestAngles = trainer.angleStatistics()
        angleLayers = trainer.network.sphereCapable.map(\.name)
        closedStep = trainer.step
    }

    // MARK: schedule

    public var step: Int { trainer.step }
    public var reachedEnd: Bool { totalSteps.map { trainer.step >= $0 } ?? false }
    /// Whether `advance()` has work to do now (otherwise the owner may sleep until a command).
    public var wantsWork: Bool {
        evaluationDue || state == .running || pendingSteps > 0
    }

    /// Runs `steps` more steps from the current one, then finishes.
    public func run(steps: Int) throws {
        let n = try Settings.steps.check(steps)
        let (target, overflow) = trainer.step.addingReportingOverflow(n)
        guard !overflow, Settings.savedStep.contains(target) else {
            throw EngineError("step \(trainer.step) + \(n) steps passes the largest step a run can reach (\(Settings.savedStep.upper))")
        }
        totalSteps = target
        state = .running
    }

    /// Whether the next `advance()` evaluates (the front end may say "evaluating" first).
    public var evaluationIsNext: Bool { evaluationDue }

    /// One unit of work: a due evaluation, or one step with what falls due after it
    /// (statistics, then — after the step's evaluation, which is its own unit — a save and
    /// the end). Returns what happened, in order.
    public func advance() -> [SessionEvent] {
        var events: [SessionEvent] = []
        if evaluationDue {
            evaluationDue = false
            evaluate(into: &events)
            close(into: &events)
            return events
        }
        let wantsStep = state == .running || pendingSteps > 0
        if wantsStep && reachedEnd {
            pendingSteps = 0
            close(into: &events)
            return events
        }
        guard wantsStep else { return events }
        pendingSteps = max(0, pendingSteps - 1)
        // The step samples patches for the angle view only when its statistics are due.
        trainer.capturesAngles = (trainer.step + 1) % trainer.hyper.statsEvery == 0 || latestAngles.isEmpty
        let result: StepResult
        do {
            result = try trainer.trainStep()
        } catch {
            state = .paused
            log("step failed: \(error)", .error, into: &events)
            events.append(.failed("\(error)"))
            return events
        }
        guard result.loss.isFinite else {
            state = .diverged
            let reason = result.loss.isNaN ? "loss is NaN" : "loss or gradients not finite"
            let message = "diverged at step \(result.step + 1): \(reason) — weights kept as before this step (its batch is skipped, as a skipped step would be); lower the learning rate and resume"
            log(message, .error, marker: "diverged", into: &events)
            events.append(.diverged(step: result.step + 1, message: message))
            return events
        }
        history.record(result, variant: trainer.hyper.variant.name)
        unsavedSteps += 1
        imagesPerSecond = imagesPerSecond == 0 ? result.imagesPerSecond : 0.9 * imagesPerSecond + 0.1 * result.imagesPerSecond
        events.append(.stepFinished(result))
        let h = trainer.hyper
        if result.step % h.statsEvery == 0 || latestAngles.isEmpty {
            latestAngles = trainer.angleStatistics()
            history.record(latestAngles)
            events.append(.statisticsMeasured(step: result.step))
        }
        if (h.evalEvery > 0 && result.step % h.evalEvery == 0) || reachedEnd {
            evaluationDue = true
        } else {
            close(into: &events)
        }
        return events
    }

    /// What falls due once a step (and its evaluation) is complete: a save, the end. Once per step.
    private func close(into events: inout [SessionEvent]) {
        if closedStep != trainer.step {
            closedStep = trainer.step
            if let every = saveEvery, every > 0, trainer.step % every == 0, !reachedEnd, trainer.step > 0 {
                events.append(.saveDue(step: trainer.step))
            }
        }
        if reachedEnd && state == .running {
            state = .finished
            log("finished: \(trainer.step) steps", into: &events)
            events.append(.finished(step: trainer.step))
        }
    }

    private func evaluate(into events: inout [SessionEvent]) {
        events.append(.evaluationStarted(step: trainer.step, examples: trainer.evaluationExamples))
        do {
            let e = try trainer.evaluate(trainModeBatchNorm: evaluatesTrainModeBN)
            history.record(e)
            evaluationSecondsEach = e.seconds
            if let c = e.confusion { lastConfusion = (e.step, c) }
            log(String(format: "step %d: test accuracy %.2f%%, loss %.4f (%d examples, %.1fs)", e.step, 100 * e.accuracy, e.loss, e.examples, e.seconds),
                into: &events)
            events.append(.evaluationFinished(e))
        } catch {
            log("evaluation failed: \(error)", .error, into: &events)
            events.append(.failed("evaluation failed: \(error)"))
        }
    }

    // MARK: commands

    /// Applies a command between steps. A refused value leaves everything as it was and logs
    /// why (a `.logged` warning).
    @discardableResult
    public func apply(_ c: TrainerCommand) -> [SessionEvent] {
        var events: [SessionEvent] = []
        do {
            switch c {
            case .pause:
                if state == .running { state = .paused; log("paused at step \(trainer.step)", into: &events) }
            case .resume:
                if state != .running && !reachedEnd { state = .running; log("resumed", into: &events) }
            case .togglePause:
                return apply(state == .running ? .pause : .resume)
            case .stepOnce:
                if state != .running { pendingSteps += 1 }
            case .evaluateNow:
                evaluationDue = true
            case .setLearningRate(let lr):
                let old = trainer.learningRate
                try trainer.setLearningRate(lr)
                log("learning rate → \(format(trainer.learningRate))", marker: TrainingSession.rateMarker(old: old, new: trainer.learningRate), into: &events)
            case .scaleLearningRate(let f):
                let old = trainer.learningRate
                try trainer.setLearningRate(old * f)
                log("learning rate → \(format(trainer.learningRate))", marker: TrainingSession.rateMarker(old: old, new: trainer.learningRate), into: &events)
            case .setVariant(let v):
                trainer.setVariant(v)
                log("variant → \(v) (weights kept)", marker: "→\(v.name)", into: &events)
            case .setOptimizer(let o):
                try trainer.setOptimizer(o)
                log("optimizer → \(o)", marker: o.name, into: &events)
            case .setWeightDecay(let w):
                try trainer.setWeightDecay(w)
                log("weight decay → \(format(w))", marker: "wd \(format(w))", into: &events)
            case .setOrthogonality(let w):
                try trainer.setOrthogonality(w)
                log("orthogonality weight → \(format(w))", marker: "orth \(format(w))", into: &events)
            case .setHead(let kind, let ce, let label):
                try trainer.setHead(kind, crossEntropy: ce)
                log("loss → \(label)", marker: label, into: &events)
            case .setBatchSize(let n):
                try trainer.setBatchSize(n)
                log("batch size → \(n)", marker: "batch \(n)", into: &events)
            case .setEvalEvery(let n):
                try trainer.setEvalEvery(n)
                log(n == 0 ? "evaluation only when asked" : "evaluation every \(n) steps", into: &events)
            case .setStatsEvery(let n):
                try trainer.setStatsEvery(n)
                log("angle statistics every \(n) steps", into: &events)
            case .setTrainModeEvaluation(let on):
                evaluatesTrainModeBN = on
                log("train-mode BN accuracy at evaluations: \(on ? "on" : "off")", into: &events)
            case .log(let text, let level):
                log(text, level, into: &events)
            case .markSaved(let name):
                unsavedSteps = 0
                log("saved \(name)", into: &events)
            case .quit:
                break
            }
        } catch {
            log("refused: \(error)", .warning, into: &events)
        }
        return events
    }

    /// `lr×2`, `lr÷10`, or the new rate when the ratio is not a round number.
    static func rateMarker(old: Float, new: Float) -> String {
        guard old > 0, new > 0 else { return "lr \(String(format: "%.2g", Double(new)))" }
        let up = Double(new / old), down = Double(old / new)
        if up >= 1, abs(up - up.rounded()) < 1e-3 { return "lr×\(Int(up.rounded()))" }
        if down > 1, abs(down - down.rounded()) < 1e-3 { return "lr÷\(Int(down.rounded()))" }
        return "lr \(String(format: "%.2g", Double(new)))"
    }

    /// Adds a line to the history's log (not tied to a command: resumed, opened, saved elsewhere).
    public func note(_ text: String, _ level: RunEvent.Level = .info, marker: String? = nil) {
        var ignored: [SessionEvent] = []
        log(text, level, marker: marker, into: &ignored)
    }

    private func log(_ text: String, _ level: RunEvent.Level = .info, marker: String? = nil, into events: inout [SessionEvent]) {
        let e = RunEvent(step: trainer.step, level: level, text: text, marker: marker)
        history.log(e)
        events.append(.logged(e))
    }

    private func format(_ v: Float) -> String { String(format: "%.3g", Double(v)) }

    // MARK: what the UI sees

    /// The current picture of the run (cheap: the history's arrays are shared, not copied).
    public func telemetry(sequence: Int = 0) -> Telemetry {
        var t = Telemetry()
        t.sequence = sequence
        t.runName = labels.runName
        t.dataset = labels.dataset
        t.model = labels.model
        t.modelSpec = trainer.model
        t.hyper = trainer.hyper
        t.state = state
        t.step = trainer.step
        t.epoch = trainer.epoch
        t.stepsPerEpoch = trainer.stepsPerEpoch
        t.totalSteps = totalSteps
        t.learningRate = trainer.learningRate
        t.imagesPerSecond = imagesPerSecond
        t.history = history
        t.angles = latestAngles
        t.angleLayers = angleLayers
        t.resumedFrom = resumedFrom
        t.unsavedSteps = unsavedSteps
        t.isEvaluating = evaluationDue
        t.evaluationExamples = trainer.evaluationExamples
        t.evaluationSecondsEach = evaluationSecondsEach
        t.classNames = labels.classNames
        t.confusion = lastConfusion?.counts
        t.confusionStep = lastConfusion?.step
        return t
    }
}
