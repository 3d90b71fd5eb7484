import Foundation
import Engine
import DataLoaders
import SessionStore

/// Several runs trained side by side (race mode). Contenders advance in turn, one unit of
/// work each (a step, or an evaluation), so all have the same step count ± 1 and — sharing
/// the schedule — evaluate at the same steps. Each contender is an ordinary `TrainingSession`
/// with its own trainer and data stream; contenders opened from the same seed start from the
/// same weights where shapes agree and read the same batches in the same order, because each
/// stream is built from that seed alone. Interleaving changes nothing a run computes.
///
/// Not thread-safe: the owner drives it from one queue (headless `race`: the main thread).
public final class Race {
    public static let maximumContenders = 8

    public struct Contender {
        public let name: String
        public let run: OpenedRun
        /// Set for a branch: the contender it was copied from and the step of the copy.
        public let fork: (from: String, step: Int)?
        let data: DatasetPair
        public var session: TrainingSession { run.session }
    }

    public private(set) var contenders: [Contender] = []
    /// Datasets already read, shared by every contender that trains on them (read-only).
    private var loaded: [String: DatasetPair] = [:]
    private var turn = 0
    /// Every per-step buffer of every contender — layer outputs, input gradients, what backward
    /// reads, patch matrices, the batch — one set for the whole race: only one contender
    /// computes at a time and nothing in it outlives a step or an evaluation, so sharing changes
    /// no result. It grows to the largest contender's need on that contender's first step; each
    /// contender keeps only its parameters, gradients, optimizer moments, running statistics
    /// and history.
    public let workspace = Workspace()
    /// A reopened race's scoreboard thresholds as saved (nil: the defaults), for the workbench
    /// to show again; it reads them before handing the race to its controller.
    public internal(set) var scoreboardThresholds: [Double]?

    public init() {}

    /// Opens a contender from the start of `request` (its seed, its settings), named `name`.
    @discardableResult
    public func add(name: String, request: RunRequest) throws -> Contender {
        try checkRoom(for: name)
        try request.hyper.validate()
        let data = try dataset(request.dataset, directory: request.datasetsDirectory)
        let run = try RunFactory.open(setup: try request.setup(for: data), data: data, hyper: request.hyper, runName: name,
                                     workspace: workspace)
        let contender = Contender(name: name, run: run, fork: nil, data: data)
        contenders.append(contender)
        return contender
    }

    /// Takes in a run opened elsewhere (a saved race's member, rebuilt on `data` with this
    /// race's `workspace`), as contender `name`; `fork` as the saved race recorded it.
    @discardableResult
    public func adopt(name: String, run: OpenedRun, data: DatasetPair, fork: (from: String, step: Int)?) throws -> Contender {
        try checkRoom(for: name)
        let contender = Contender(name: name, run: run, fork: fork, data: data)
        contenders.append(contender)
        return contender
    }

    /// The data of `kind` in `directory`, read once per race and shared by its contenders.
    public func sharedData(_ kind: DatasetKind, directory: String) throws -> DatasetPair {
        try dataset(kind, directory: directory)
    }

    /// A copy of contender `index` at its current step — weights, buffers, optimizer state,
    /// data position and history — that continues as `name` with `changes` applied to its
    /// hyperparameters (none: it repeats the original exactly). It runs towards the same end
    /// as the original and is running if the original is.
    @discardableResult
    public func branch(of index: Int, name: String, changes: ((inout Hyperparameters) throws -> Void)? = nil) throws -> Contender {
        guard contenders.indices.contains(index) else {
            throw EngineError("no contender \(index + 1) to branch from: the race has \(contenders.count)")
        }
        try checkRoom(for: name)
        let source = contenders[index]
        var capture = SessionArchive().capture(source.session, identity: source.run.identity, name: name)
        // The copy runs under its own name (the header, the event log's "started", its snapshot).
        capture.manifest.runName = name
        let step = source.session.step
        let run = try SessionArchive.rebuild(contents: capture.contents, manifest: capture.manifest, data: source.data,
                                             path: "branch of \(source.name) at step \(step)", resumedFrom: nil, override: changes,
                                             workspace: workspace)
        run.session.note("branched from \(source.name) at step \(step)", marker: "⑂\(source.name)")
        if source.session.state == .running {
            if let end = source.session.totalSteps, end > step {
                try run.session.run(steps: end - step)
            } else if source.session.totalSteps == nil {
                run.session.apply(.resume)
            }
        }
        let contender = Contender(name: name, run: run, fork: (source.name, step), data: source.data)
        contenders.append(contender)
        return contender
    }

    /// Removes contender `index` (its session is dropped).
    public func remove(at index: Int) {
        guard contenders.indices.contains(index) else { return }
        contenders.remove(at: index)
        if turn > index { turn -= 1 }
        if turn >= contenders.count { turn = 0 }
    }

    /// Every contender runs `steps` more steps from its current one, then finishes.
    public func run(steps: Int) throws {
        for c in contenders { try c.session.run(steps: steps) }
    }

    /// Whether some contender has work to do.
    public var wantsWork: Bool { contenders.contains { $0.session.wantsWork } }

    /// One unit of work of the next contender in turn that has work; nil when none has.
    /// Only the contenders at the lowest step among those that work take turns, so the runs
    /// stand at the same step ± 1 whatever happened before: one added from the start while
    /// the others ran trains alone until it has caught up, and when it has, the runs that
    /// were a step behind go before those a step ahead (plain turns from where the turn
    /// stood would let those ahead move on and leave a gap of two for good). Runs in step
    /// see plain turns in contender order.
    public func advance() -> (contender: Int, events: [SessionEvent])? {
        let n = contenders.count
        guard let lowest = contenders.filter({ $0.session.wantsWork }).map(\.session.step).min() else { return nil }
        for offset in 0..<n {
            let i = (turn + offset) % n
            if contenders[i].session.wantsWork, contenders[i].session.step == lowest {
                turn = (i + 1) % n
                return (i, contenders[i].session.advance())
            }
        }
        return nil
    }

    /// Applies a command to every contender (pause, evaluate, …), in contender order.
    @discardableResult
    public func applyToAll(_ command: TrainerCommand) -> [[SessionEvent]] {
        contenders.map { $0.session.apply(command) }
    }

    private func checkRoom(for name: String) throws {
        guard contenders.count < Race.maximumContenders else {
            throw EngineError("a race holds at most \(Race.maximumContenders) contenders; remove one before adding '\(name)'")
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EngineError("a contender needs a name; give one with name=…")
        }
        guard !contenders.contains(where: { $0.name == name }) else {
            throw EngineError("the race already has a contender named '\(name)'; give this one another name (name=…)")
        }
    }

    private func dataset(_ kind: DatasetKind, directory: String) throws -> DatasetPair {
        let key = kind.rawValue + "\u{0}" + directory
        if let d = loaded[key] { return d }
        let d = try DatasetLoader.load(kind, datasetsDirectory: directory)
        loaded[key] = d
        return d
    }
}
