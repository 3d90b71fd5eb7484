import Dispatch

/// Runs a `Trainer` on a serial background queue. The UI thread only ever sends commands
/// and reads the latest `Telemetry`; both cross threads through one lock (`Locked`). Commands are
/// applied between steps, so a change never lands mid-step, and the UI never waits for a
/// step to finish.
public final class TrainingController: Sendable {
    /// Work handed to the trainer's queue, run between steps with exclusive access to the
    /// trainer (snapshot capture uses this).
    public typealias TrainerTask = @Sendable (Trainer) -> Void

    private struct Inbox {
        var commands: [TrainerCommand] = []
        var tasks: [TrainerTask] = []
        var telemetry: Telemetry
    }

    private let inbox: Locked<Inbox>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "spherelab.trainer", qos: .userInitiated)
    private let owner: TrainerOwner
    private let totalSteps: Int?
    private let startPaused: Bool

    /// Hands `trainer` over: from here on only the controller's queue touches it.
    public init(trainer: Trainer, runName: String, totalSteps: Int? = nil, startPaused: Bool = false,
                resumedFrom: String? = nil, history: Telemetry? = nil) {
        owner = TrainerOwner(trainer)
        self.totalSteps = totalSteps
        self.startPaused = startPaused
        var t = history ?? Telemetry()
        t.runName = runName
        t.dataset = trainer.setup.dataset.rawValue
        t.model = trainer.setup.model.displayName
        t.setup = trainer.setup
        t.hyper = trainer.hyper
        t.step = trainer.step
        t.epoch = trainer.epoch
        t.stepsPerEpoch = trainer.stepsPerEpoch
        t.totalSteps = totalSteps
        t.learningRate = trainer.learningRate
        t.state = startPaused ? .paused : .running
        t.resumedFrom = resumedFrom
        inbox = Locked(Inbox(telemetry: t))
    }

    /// The latest published picture of the run (a copy; cheap, copy-on-write arrays).
    public var telemetry: Telemetry { inbox.withLock { $0.telemetry } }

    public func send(_ command: TrainerCommand) {
        inbox.withLock { $0.commands.append(command) }
        wake.signal()
    }

    /// Runs `task` on the trainer's queue at the next step boundary.
    public func perform(_ task: @escaping TrainerTask) {
        inbox.withLock { $0.tasks.append(task) }
        wake.signal()
    }

    public func start() {
        let owner = self.owner
        queue.async { [self] in
            var loop = RunLoop(trainer: owner.trainer, telemetry: telemetry, totalSteps: totalSteps)
            loop.run(controller: self)
            finished.signal()
        }
    }

    /// Blocks until the trainer has stopped after `.quit` (or the timeout passes).
    @discardableResult
    public func waitUntilStopped(timeoutSeconds: Double = 60) -> Bool {
        finished.wait(timeout: .now() + timeoutSeconds) == .success
    }

    fileprivate func take() -> ([TrainerCommand], [TrainerTask]) {
        inbox.withLock { box in
            defer { box.commands.removeAll(); box.tasks.removeAll() }
            return (box.commands, box.tasks)
        }
    }

    fileprivate func publish(_ t: Telemetry) {
        inbox.withLock { $0.telemetry = t }
    }

    fileprivate func sleep(seconds: Double) {
        _ = wake.wait(timeout: .now() + seconds)
    }
}

/// The trainer's owner across the hand-over to the serial queue. `@unchecked` because the
/// trainer is a plain class: the controller guarantees that after `init` only its queue
/// (one thread at a time, in order) reaches it.
private final class TrainerOwner: @unchecked Sendable {
    let trainer: Trainer
    init(_ t: Trainer) { trainer = t }
}

/// The trainer queue's loop: apply commands, step, measure, publish.
private struct RunLoop {
    let trainer: Trainer
    var telemetry: Telemetry
    let totalSteps: Int?
    var pendingSteps = 0
    var evaluateTrainModeBN = false
    var evaluationRequested = false
    var quit = false

    init(trainer: Trainer, telemetry: Telemetry, totalSteps: Int?) {
        self.trainer = trainer; self.telemetry = telemetry; self.totalSteps = totalSteps
    }

    mutating func log(_ text: String, _ level: RunEvent.Level = .info) {
        telemetry.events.append(RunEvent(step: trainer.step, level: level, text: text))
        if telemetry.events.count > 500 { telemetry.events.removeFirst(telemetry.events.count - 500) }
    }

    mutating func run(controller: TrainingController) {
        log("started \(telemetry.model) on \(telemetry.dataset), \(trainer.hyper.variant) SphereConv, \(trainer.hyper.optimizer.name) lr \(trainer.learningRate)")
        telemetry.angles = trainer.angleStatistics()
        controller.publish(telemetry)
        while !quit {
            let (commands, tasks) = controller.take()
            for task in tasks { task(trainer) }
            for c in commands { apply(c) }
            telemetry.hyper = trainer.hyper
            telemetry.learningRate = trainer.learningRate
            telemetry.stepsPerEpoch = trainer.stepsPerEpoch
            if quit { break }
            if evaluationRequested {
                evaluationRequested = false
                evaluate(controller: controller)
            }
            let wantsStep = telemetry.state == .running || pendingSteps > 0
            if wantsStep && !reachedEnd {
                step(controller: controller)
            } else {
                if wantsStep && telemetry.state == .running {
                    telemetry.state = .finished
                    log("finished: \(trainer.step) steps")
                }
                pendingSteps = 0
                controller.publish(telemetry)
                if !commands.isEmpty || !tasks.isEmpty { continue }
                controller.sleep(seconds: 0.2)
            }
        }
        telemetry.state = .stopped
        controller.publish(telemetry)
    }

    var reachedEnd: Bool { totalSteps.map { trainer.step >= $0 } ?? false }

    mutating func step(controller: TrainingController) {
        pendingSteps = max(0, pendingSteps - 1)
        let result: StepResult
        do {
            result = try trainer.trainStep()
        } catch {
            telemetry.state = .paused
            log("step failed: \(error)", .error)
            controller.publish(telemetry)
            return
        }
        guard result.loss.isFinite else {
            telemetry.state = .diverged
            log("diverged at step \(result.step + 1): \(result.loss.isNaN ? "loss is NaN" : "loss or gradients not finite") — weights kept as before this step; lower the learning rate (-) and resume (space)", .error)
            controller.publish(telemetry)
            return
        }
        telemetry.step = result.step
        telemetry.epoch = result.epoch
        telemetry.imagesPerSecond = telemetry.imagesPerSecond == 0 ? result.imagesPerSecond
            : 0.9 * telemetry.imagesPerSecond + 0.1 * result.imagesPerSecond
        telemetry.trainLoss.append(MetricPoint(step: result.step, value: result.loss))
        telemetry.trainAccuracy.append(MetricPoint(step: result.step, value: result.accuracy))
        telemetry.unsavedSteps += 1
        let h = trainer.hyper
        if result.step % h.statsEvery == 0 || telemetry.angles.isEmpty {
            telemetry.angles = trainer.angleStatistics()
            for a in telemetry.angles { telemetry.angleHistory[a.layer, default: AngleHistory()].append(a) }
        }
        telemetry.sequence += 1
        controller.publish(telemetry)
        if (h.evalEvery > 0 && result.step % h.evalEvery == 0) || reachedEnd {
            evaluate(controller: controller)
        }
    }

    mutating func evaluate(controller: TrainingController) {
        telemetry.isEvaluating = true
        controller.publish(telemetry)
        defer { telemetry.isEvaluating = false; controller.publish(telemetry) }
        do {
            let e = try trainer.evaluate(trainModeBatchNorm: evaluateTrainModeBN)
            telemetry.testAccuracy.append(MetricPoint(step: e.step, value: e.accuracy))
            telemetry.testLoss.append(MetricPoint(step: e.step, value: e.loss))
            if let t = e.trainModeAccuracy { telemetry.testAccuracyTrainModeBN.append(MetricPoint(step: e.step, value: t)) }
            telemetry.bestTestAccuracy = max(telemetry.bestTestAccuracy ?? 0, e.accuracy)
            log(String(format: "step %d: test accuracy %.2f%%, loss %.4f (%d examples, %.1fs)",
                       e.step, 100 * e.accuracy, e.loss, e.examples, e.seconds))
        } catch {
            log("evaluation failed: \(error)", .error)
        }
    }

    mutating func apply(_ c: TrainerCommand) {
        do {
            switch c {
            case .pause:
                if telemetry.state == .running { telemetry.state = .paused; log("paused at step \(trainer.step)") }
            case .resume:
                if telemetry.state != .running && !reachedEnd { telemetry.state = .running; log("resumed") }
            case .togglePause:
                apply(telemetry.state == .running ? .pause : .resume)
            case .stepOnce:
                if telemetry.state != .running { pendingSteps += 1 }
            case .evaluateNow:
                evaluationRequested = true
            case .setLearningRate(let lr):
                try trainer.setLearningRate(lr)
                log("learning rate → \(format(trainer.learningRate))")
            case .scaleLearningRate(let f):
                try trainer.setLearningRate(trainer.learningRate * f)
                log("learning rate → \(format(trainer.learningRate))")
            case .setVariant(let v):
                trainer.setVariant(v)
                log("variant → \(v) (weights kept)")
            case .setOptimizer(let o):
                try trainer.setOptimizer(o)
                log("optimizer → \(o)")
            case .setWeightDecay(let w):
                try trainer.setWeightDecay(w); log("weight decay → \(format(w))")
            case .setOrthogonality(let w):
                try trainer.setOrthogonality(w); log("orthogonality weight → \(format(w))")
            case .setHead(let kind, let ce):
                try trainer.setHead(kind, crossEntropy: ce); log("loss → \(kind)")
            case .setBatchSize(let n):
                try trainer.setBatchSize(n); log("batch size → \(n)")
            case .setEvalEvery(let n):
                try trainer.setEvalEvery(n); log("evaluation every \(n) steps")
            case .setStatsEvery(let n):
                try trainer.setStatsEvery(n); log("angle statistics every \(n) steps")
            case .setTrainModeEvaluation(let on):
                evaluateTrainModeBN = on; log("train-mode BN accuracy at evaluations: \(on ? "on" : "off")")
            case .log(let text, let level):
                log(text, level)
            case .markSaved(let name):
                telemetry.unsavedSteps = 0
                log("saved \(name)")
            case .quit:
                quit = true
            }
        } catch {
            log("refused: \(error)", .warning)
        }
    }

    func format(_ v: Float) -> String { String(format: "%.3g", Double(v)) }
}

import Foundation
