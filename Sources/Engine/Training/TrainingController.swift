import Dispatch

/// Runs a `TrainingSession` on a serial background queue for the workbench. The UI thread
/// only ever sends commands and reads the latest `Telemetry`; both cross threads through one
/// lock (`Locked`). Commands and tasks are applied between steps in the order they were
/// given, so a change never lands mid-step, and the UI never waits for a step to finish.
public final class TrainingController: Sendable {
    /// Work handed to the trainer's queue, run between steps with exclusive access to the
    /// session (snapshot capture uses this).
    public typealias SessionTask = @Sendable (TrainingSession) -> Void

    /// A command or a task, kept in one list so they apply in the order given.
    private enum Request {
        case command(TrainerCommand)
        case task(SessionTask)
    }

    private struct Inbox {
        var requests: [Request] = []
        var telemetry: Telemetry
        var stopped = false
    }

    private let inbox: Locked<Inbox>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "spherelab.trainer", qos: .userInitiated)
    private let owner: SessionOwner

    /// Hands `session` over: from here on only the controller's queue touches it.
    public init(session: TrainingSession) {
        owner = SessionOwner(session)
        inbox = Locked(Inbox(telemetry: session.telemetry()))
    }

    /// The latest published picture of the run (a copy; cheap, copy-on-write arrays).
    public var telemetry: Telemetry { inbox.withLock { $0.telemetry } }

    public func send(_ command: TrainerCommand) {
        inbox.withLock { $0.requests.append(.command(command)) }
        wake.signal()
    }

    /// Runs `task` on the trainer's queue at the next step boundary, after every command
    /// sent before it.
    public func perform(_ task: @escaping SessionTask) {
        inbox.withLock { $0.requests.append(.task(task)) }
        wake.signal()
    }

    /// Whether the trainer's loop has ended (after `.quit`).
    public var hasStopped: Bool { inbox.withLock { $0.stopped } }

    public func start() {
        let owner = self.owner
        queue.async { [self] in
            run(owner.session)
            inbox.withLock { $0.stopped = true }
            finished.signal()
        }
    }

    /// Blocks until the trainer has stopped after `.quit` (or the timeout passes).
    @discardableResult
    public func waitUntilStopped(timeoutSeconds: Double = 60) -> Bool {
        guard finished.wait(timeout: .now() + timeoutSeconds) == .success else { return false }
        finished.signal()   // later callers return at once
        return true
    }

    /// The trainer queue's loop: apply requests in order, advance, publish.
    private func run(_ session: TrainingSession) {
        var sequence = 0
        func publish() {
            sequence += 1
            let t = session.telemetry(sequence: sequence)
            inbox.withLock { $0.telemetry = t }
        }
        session.note("started \(session.labels.model) on \(session.labels.dataset), \(session.trainer.hyper.variant.operatorPhrase), \(session.trainer.hyper.optimizer.name) lr \(session.trainer.learningRate)")
        publish()
        while true {
            let requests = inbox.withLock { box in
                defer { box.requests.removeAll() }
                return box.requests
            }
            var quit = false
            for r in requests {
                switch r {
                case .command(.quit): quit = true
                case .command(let c): session.apply(c)
                case .task(let t): t(session)
                }
                if quit { break }
            }
            if quit { break }
            // An evaluation takes seconds: the telemetry published before it says so. It does
            // not take the place of this round's step, so evaluations asked for in a stream of
            // commands cannot starve training.
            var evaluated = false
            if session.evaluationIsNext {
                publish()
                _ = session.advance()
                evaluated = true
            }
            if session.wantsWork && !session.evaluationIsNext {
                _ = session.advance()
                publish()
            } else if evaluated {
                publish()
            } else {
                publish()
                if requests.isEmpty { _ = wake.wait(timeout: .now() + 0.2) }
            }
        }
        session.apply(.pause)
        publish()
    }
}

/// The session's owner across the hand-over to the serial queue. `@unchecked` because the
/// session is a plain class: the controller guarantees that after `init` only its queue
/// (one thread at a time, in order) reaches it.
private final class SessionOwner: @unchecked Sendable {
    let session: TrainingSession
    init(_ s: TrainingSession) { session = s }
}
