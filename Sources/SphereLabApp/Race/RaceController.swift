import Dispatch
import Engine

/// One contender as the workbench sees it: its name, where it forked (a branch), and its
/// latest telemetry.
public struct RunTelemetry: Sendable {
    public var name: String
    public var forkedFrom: String?
    public var forkStep: Int?
    public var telemetry: Telemetry

    public init(name: String, forkedFrom: String? = nil, forkStep: Int? = nil, telemetry: Telemetry) {
        self.name = name
        self.forkedFrom = forkedFrom
        self.forkStep = forkStep
        self.telemetry = telemetry
    }
}

/// Drives a `Race` on a serial background queue for the workbench, as `TrainingController`
/// drives one session: the UI sends commands (to every contender or to named ones) and tasks,
/// and reads the latest immutable picture of all runs. The race and its sessions are touched
/// only on this queue; requests apply between units of work, in the order given.
public final class RaceController: Sendable {
    public typealias RaceTask = @Sendable (Race) throws -> Void

    private enum Request {
        /// To the contenders named (nil: all of them).
        case command(TrainerCommand, to: [String]?)
        case task(RaceTask, failure: String)
    }

    private struct Inbox {
        var requests: [Request] = []
        var runs: [RunTelemetry]
        var sequence = 0
        var stopped = false
        var notices: [String] = []
    }

    private let inbox: Locked<Inbox>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "spherelab.race", qos: .userInitiated)
    private let owner: RaceOwner

    /// Hands `race` over: from here on only the controller's queue touches it.
    public init(race: Race) {
        owner = RaceOwner(race)
        inbox = Locked(Inbox(runs: RaceController.pictures(of: race, sequence: 0)))
    }

    /// Every contender's latest telemetry, in contender order.
    public var runs: [RunTelemetry] { inbox.withLock { $0.runs } }
    /// Grows with every publication (the UI skips work when it has not moved).
    public var sequence: Int { inbox.withLock { $0.sequence } }

    public func send(_ command: TrainerCommand, to names: [String]?) {
        inbox.withLock { $0.requests.append(.command(command, to: names)) }
        wake.signal()
    }

    /// Runs `task` on the race's queue between units of work; a thrown error becomes a notice
    /// `failure: <error>`.
    public func perform(failure: String = "", _ task: @escaping RaceTask) {
        inbox.withLock { $0.requests.append(.task(task, failure: failure)) }
        wake.signal()
    }

    /// A line for the status bar that arrived since the last call (a failed task), or nil.
    public func takeNotice() -> String? {
        inbox.withLock { $0.notices.isEmpty ? nil : $0.notices.removeFirst() }
    }

    public var hasStopped: Bool { inbox.withLock { $0.stopped } }

    public func start() {
        let owner = self.owner
        queue.async { [self] in
            run(owner.race)
            inbox.withLock { $0.stopped = true }
            finished.signal()
        }
    }

    /// Asks the loop to end (every contender pauses) and waits for it.
    public func stop() {
        send(.quit)
        _ = finished.wait(timeout: .now() + 120)
        finished.signal()
    }

    static func picture(_ c: Race.Contender, sequence: Int) -> RunTelemetry {
        RunTelemetry(name: c.name, forkedFrom: c.fork?.from, forkStep: c.fork?.step, telemetry: c.session.telemetry(sequence: sequence))
    }

    static func pictures(of race: Race, sequence: Int) -> [RunTelemetry] {
        race.contenders.map { picture($0, sequence: sequence) }
    }

    /// The queue's loop: apply requests, give the next contender in turn one unit of work,
    /// publish. Only the contender that worked is pictured again (the others have not moved).
    private func run(_ race: Race) {
        var sequence = 0
        var cache = RaceController.pictures(of: race, sequence: 0)
        func publish(only index: Int? = nil) {
            sequence += 1
            if let index, cache.count == race.contenders.count {
                cache[index] = RaceController.picture(race.contenders[index], sequence: sequence)
            } else {
                cache = RaceController.pictures(of: race, sequence: sequence)
            }
            let runs = cache, seq = sequence
            inbox.withLock { $0.runs = runs; $0.sequence = seq }
        }
        for c in race.contenders {
            c.session.note("started \(c.name): \(c.session.labels.model) on \(c.session.labels.dataset), \(c.session.trainer.hyper.variant.operatorPhrase), \(c.session.trainer.hyper.optimizer.name) lr \(c.session.trainer.learningRate)")
        }
        publish()
        while true {
            let requests = inbox.withLock { box in
                defer { box.requests.removeAll() }
                return box.requests
            }
            var quit = false
            for r in requests {
                switch r {
                case .command(.quit, _): quit = true
                case .command(let c, let names):
                    for contender in race.contenders where names?.contains(contender.name) ?? true { contender.session.apply(c) }
                case .task(let t, let failure):
                    do { try t(race) } catch {
                        let text = failure.isEmpty ? "\(error)" : "\(failure): \(error)"
                        inbox.withLock { $0.notices.append(text) }
                    }
                }
                if quit { break }
            }
            if quit { break }
            if !requests.isEmpty { publish() }
            // An evaluation takes seconds: say so before it starts.
            if let i = race.contenders.firstIndex(where: { $0.session.evaluationIsNext }), !cache.indices.contains(i) || !cache[i].telemetry.isEvaluating {
                publish(only: i)
            }
            if let (i, _) = race.advance() {
                publish(only: i)
            } else {
                if requests.isEmpty { _ = wake.wait(timeout: .now() + 0.2) }
            }
        }
        race.applyToAll(.pause)
        publish()
    }
}

/// The race's owner across the hand-over to the serial queue. `@unchecked` because `Race` is
/// a plain class: the controller guarantees that after `init` only its queue reaches it.
private final class RaceOwner: @unchecked Sendable {
    let race: Race
    init(_ r: Race) { race = r }
}

extension RaceController: RunDriver {
    /// The first contender's picture (the runner reads `runs` for the race).
    public var telemetry: Telemetry { runs.first?.telemetry ?? Telemetry() }
    /// To every contender.
    public func send(_ command: TrainerCommand) { send(command, to: nil) }
    public func unavailableReason(_ command: TrainerCommand) -> String? { nil }
    public var writesOwnSnapshots: Bool { false }
    public func requestSave(name: String) {}
    public func reconnectNow() -> Bool { false }
}
