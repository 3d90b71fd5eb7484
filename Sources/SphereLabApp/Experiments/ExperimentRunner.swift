import Foundation
import Engine
import TUI
import DataLoaders

/// Runs an experiment's grid, one `TrainingSession` after another, into
/// `<root>/experiments/<name>/`: one snapshot folder per run (saved every `save_every` steps
/// and at the end), `manifest.json` and `results.jsonl`. Rerunning the same experiment skips
/// finished runs, resumes the interrupted one from its last snapshot and drops the records
/// written after that snapshot (they are measured again), so nothing is counted twice.
public final class ExperimentRunner {
    public enum OutputStyle: Sendable { case json, progressBar, plain, quiet }

    public let spec: ExperimentSpec
    public let folder: String
    public let datasetsDirectory: String
    public var command = "spherelab experiment run"
    public var style: OutputStyle
    /// Measure a few steps and one evaluation per configuration before starting, and print the estimate.
    public var measureEstimate = true
    /// Stop after printing the estimate, before any run starts (`--estimate-only`).
    public var estimateOnly = false
    public var write: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
    public var writeProgress: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    /// How lines for people are spelled (`--ascii`, or a locale without UTF-8: `.ascii`, as
    /// the workbench draws); JSON lines are data and stay as they are.
    public var glyphs: GlyphSet = .unicode
    /// The progress line's terminal width (nil: unknown, nothing is cut).
    public var columns: () -> Int? = { ConsoleWidth.columns() }
    /// Test hook, asked after every unit of work with (run id, step): true stops at once, as a
    /// kill would (nothing more is saved or written).
    public var shouldStop: ((String, Int) -> Bool)?
    /// The stop signal received, if any (Ctrl-C, SIGTERM, SIGHUP; the command installs
    /// `StopSignals`), asked with (run id, step) between units of work: the run in progress is
    /// saved, the runner says where it stopped and how to go on, and returns with
    /// `Outcome.interruption`. Tests give their own.
    public var stopSignal: (String, Int) -> Int32? = { _, _ in StopSignals.pending }

    public struct Outcome: Sendable, Equatable {
        /// Runs trained to the end in this invocation (started fresh or resumed).
        public var completed: [String] = []
        /// Runs found finished and left alone.
        public var skipped: [String] = []
        /// Runs resumed from a snapshot (with the step they resumed at).
        public var resumed: [String: Int] = [:]
        public var stopped = false
        public var wallSeconds = 0.0
        /// Set when a stop signal ended the runner early.
        public var interruption: Interruption?
    }

    /// Where a stop signal left the experiment, and what running the same command again does.
    public struct Interruption: Sendable, Equatable {
        public var signal: Int32
        /// Runs finished (trained to the end now or before) of all the grid's runs.
        public var finishedRuns: Int
        public var totalRuns: Int
        /// What became of the run in progress (nil: none had started), e.g. "cosine-s1 saved at step 3 …".
        public var current: String?
        /// The command that continues the experiment.
        public var resumeCommand: String

        /// `interrupted by SIGINT after 1 of 4 runs — cosine-s1 saved at step 3 and continues from
        /// there; resume with: spherelab experiment run x.json (finished runs are kept)`.
        public var message: String {
            "interrupted by \(StopSignals.name(signal)) after \(finishedRuns) of \(totalRuns) runs"
                + (current.map { " — \($0)" } ?? "")
                + "; resume with: \(resumeCommand) (finished runs are kept)"
        }
    }

    /// A stop signal seen between units of work, carried up to `run`.
    private struct StopRequest: Error {
        var signal: Int32
        var current: String?
    }

    /// Seconds per training step and per evaluation of a configuration, measured.
    public struct Cost: Sendable {
        public var step: Double
        public var evaluation: Double
    }

    private var data: [DatasetKind: DatasetPair] = [:]
    private var costs: [String: Cost] = [:]
    private var estimated: [String: Cost] = [:]

    public init(spec: ExperimentSpec, sessionsRoot: String = "Sessions", datasetsDirectory: String = "Datasets", style: OutputStyle) {
        self.spec = spec
        self.folder = sessionsRoot + "/experiments/" + spec.name
        self.datasetsDirectory = datasetsDirectory
        self.style = style
    }

    var archive: SessionArchive { SessionArchive(root: folder, datasetsDirectory: datasetsDirectory) }
    var results: ExperimentResultsFile { ExperimentResultsFile(path: folder + "/results.jsonl") }

    /// Where a run stands on disk.
    enum RunStatus { case new, partial(step: Int), finished, diverged(step: Int) }

    func status(of plan: ExperimentRunPlan, records: [ExperimentRecord]) throws -> RunStatus {
        if let d = records.first(where: { $0.run == plan.id && $0.diverged == true }) { return .diverged(step: d.step) }
        let path = folder + "/" + plan.id
        guard FileManager.default.fileExists(atPath: path + "/session.json") else { return .new }
        let contents = try archive.store.load(path: path)
        let manifest = try archive.readManifest(contents, path: path)
        return manifest.step >= spec.steps ? .finished : .partial(step: manifest.step)
    }

    // MARK: run

    @discardableResult
    public func run() throws -> Outcome {
        let start = Date()
        var outcome = Outcome()
        let grid = try spec.grid()
        // Refuse before anything is written when a dataset is missing.
        for kind in Set(try grid.map { try ExperimentOptions.request($0.options, seed: $0.seed).dataset }).sorted(by: { $0.rawValue < $1.rawValue }) {
            _ = try dataset(kind)
        }
        // `--estimate-only` writes nothing: its command is no start of the experiment (the
        // report would name it as the command that ran it).
        if !estimateOnly { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try writeManifest(grid)
        var records = try results.read()

        var pending: [(ExperimentRunPlan, RunStatus)] = []
        for plan in grid {
            let s = try status(of: plan, records: records)
            switch s {
            case .finished, .diverged: outcome.skipped.append(plan.id)
            case .new, .partial: pending.append((plan, s))
            }
        }
        say("experiment \(spec.name): \(grid.count) runs (\(Set(grid.map(\.config)).count) configurations × \(spec.seeds.count) seeds), \(spec.steps) steps each, evaluation every \(spec.evalEvery) steps"
            + (outcome.skipped.isEmpty ? "" : "; \(outcome.skipped.count) already finished, kept") + " → \(folder)",
            json: [("event", .string("start")), ("experiment", .string(spec.name)), ("runs", .int(grid.count)),
                   ("finished", .int(outcome.skipped.count)), ("folder", .string(folder))])
        if pending.isEmpty {
            say("nothing to do: every run is finished (remove \(folder) to start over)", json: [("event", .string("done")), ("runs", .int(grid.count))])
            return outcome
        }
        let total = grid.count
        var done = outcome.skipped.count
        do {
            if measureEstimate { try estimate(pending.map(\.0)) }
            if estimateOnly {
                outcome.stopped = true
                outcome.wallSeconds = Date().timeIntervalSince(start)
                return outcome
            }
            for (plan, status) in pending {
                let stopped = try train(plan, status: status, records: &records, done: done, total: total, pending: pending.map(\.0), outcome: &outcome)
                if stopped {
                    outcome.stopped = true
                    outcome.wallSeconds = Date().timeIntervalSince(start)
                    return outcome
                }
                done += 1
            }
        } catch let stop as StopRequest {
            let i = Interruption(signal: stop.signal, finishedRuns: done, totalRuns: total, current: stop.current, resumeCommand: command)
            outcome.interruption = i
            outcome.stopped = true
            outcome.wallSeconds = Date().timeIntervalSince(start)
            if style == .progressBar { writeProgress("\r\u{1B}[K") }
            if style == .json {
                write(JSONLine.object([("event", .string("interrupted")), ("signal", .string(StopSignals.name(i.signal))),
                                       ("finished", .int(i.finishedRuns)), ("runs", .int(i.totalRuns)), ("resume", .string(i.resumeCommand))]))
            }
            // A line for people, on stderr (a --json stdout stays one object per line).
            if style != .quiet { writeProgress(glyphs.text(i.message + "\n")) }
            return outcome
        }
        outcome.wallSeconds = Date().timeIntervalSince(start)
        if style == .progressBar { writeProgress("\r\u{1B}[K") }
        say("experiment \(spec.name) finished: \(outcome.completed.count) runs trained, \(outcome.skipped.count) kept, in " + ProgressBar.duration(outcome.wallSeconds)
            + "; report: spherelab report \(folder)",
            json: [("event", .string("done")), ("trained", .int(outcome.completed.count)), ("kept", .int(outcome.skipped.count)),
                   ("wall_seconds", .double(outcome.wallSeconds))])
        return outcome
    }

    private func dataset(_ kind: DatasetKind) throws -> DatasetPair {
        if let d = data[kind] { return d }
        do {
            let d = try DatasetLoader.load(kind, datasetsDirectory: datasetsDirectory)
            data[kind] = d
            return d
        } catch {
            throw ExperimentError("experiment '\(spec.name)' needs \(kind.rawValue), which could not be loaded (nothing was run or written): \(error)\nThen run the same command again.")
        }
    }

    private func writeManifest(_ grid: [ExperimentRunPlan]) throws {
        let path = folder + "/manifest.json"
        let now = ISO8601DateFormatter().string(from: Date())
        let build = ExperimentManifest.build()
        let runs = grid.map { ExperimentManifest.Run(id: $0.id, config: $0.config, seed: $0.seed, axes: $0.axes, options: $0.options,
                                                     baseline: spec.baselineConfig(of: $0, in: grid)) }
        if FileManager.default.fileExists(atPath: path) {
            var old = try ExperimentManifest.read(path)
            guard old.experiment == spec.source || (old.runs.map(\.id) == runs.map(\.id) && old.steps == spec.steps && old.evalEvery == spec.evalEvery) else {
                throw ExperimentError("\(folder) holds a different experiment named '\(spec.name)' (its grid, budget or options differ from this file's). "
                                      + "Give this experiment another \"name\", or move \(folder) away to start it over.")
            }
            if estimateOnly { return }
            old.invocations.append(.init(command: command, date: now, build: build))
            try old.write(path)
            return
        }
        if estimateOnly { return }
        let m = ExperimentManifest(name: spec.name, description: spec.description, experiment: spec.source, steps: spec.steps, evalEvery: spec.evalEvery,
                                   thresholds: spec.thresholds, bothEvalModes: spec.bothEvaluationModes, axisOrder: spec.axisOrder, runs: runs,
                                   command: command, build: build, date: now, machine: .current(),
                                   invocations: [.init(command: command, date: now, build: build)])
        try m.write(path)
    }

    // MARK: estimate

    private func open(_ plan: ExperimentRunPlan) throws -> OpenedRun {
        let request = try ExperimentOptions.request(plan.options, seed: plan.seed, datasetsDirectory: datasetsDirectory)
        var hyper = request.hyper
        hyper.evalEvery = spec.evalEvery
        let d = try dataset(request.dataset)
        return try RunFactory.open(setup: try request.setup(for: d), data: d, hyper: hyper, runName: "\(spec.name)/\(plan.id)")
    }

    /// Times 3 steps (after one warm-up step) and one evaluation of each configuration still to run.
    private func estimate(_ pending: [ExperimentRunPlan]) throws {
        var seen = Set<String>()
        var lines: [String] = []
        if style != .json && style != .quiet { writeProgress(glyphs.text("measuring the speed of each configuration (3 steps and one evaluation each)…\n")) }
        for plan in pending where seen.insert(plan.config).inserted {
            if let signal = stopSignal(plan.id, 0) { throw StopRequest(signal: signal, current: "stopped while measuring speeds, before the next run started") }
            let run = try open(plan)
            let trainer = run.trainer
            trainer.capturesAngles = false   // as most of a session's steps
            _ = try trainer.trainStep()
            var stepSeconds = 0.0
            for _ in 0..<3 { stepSeconds += try trainer.trainStep().seconds }
            let e = try trainer.evaluate(trainModeBatchNorm: spec.bothEvaluationModes)
            let cost = Cost(step: stepSeconds / 3, evaluation: e.seconds)
            estimated[plan.config] = cost
            costs[plan.config] = cost
            lines.append("  " + plan.config.padding(toLength: max(10, pending.map(\.config.count).max() ?? 0), withPad: " ", startingAt: 0)
                         + String(format: " %6.3f s/step  %5.1f s/evaluation (%d images", cost.step, cost.evaluation, e.examples)
                         + (spec.bothEvaluationModes ? ", both BN modes)" : ")"))
            if style == .json {
                write(JSONLine.object([("event", .string("speed")), ("config", .string(plan.config)), ("seconds_per_step", .double(cost.step)),
                                       ("seconds_per_evaluation", .double(cost.evaluation)), ("examples", .int(e.examples))]))
            }
        }
        let remaining = remainingSeconds(pending, current: nil, currentStep: 0)
        if style == .json {
            write(JSONLine.object([("event", .string("estimate")), ("seconds", .double(remaining))]))
        } else if style != .quiet {
            write(glyphs.text((["speed measured now (other processes on this machine count too):"] + lines).joined(separator: "\n")))
            write(glyphs.text("estimate for " + (pending.count == 1 ? "the 1 run" : "the \(pending.count) runs") + " still to do: " + ProgressBar.duration(remaining) + " (steps and evaluations; data loading and saves not counted)"))
        }
    }

    /// Evaluations a run makes from `step` (exclusive) to the end.
    func evaluations(after step: Int) -> Int {
        spec.steps / spec.evalEvery - step / spec.evalEvery + (spec.steps % spec.evalEvery == 0 ? 0 : 1)
    }

    private func remainingSeconds(_ pending: [ExperimentRunPlan], current: String?, currentStep: Int) -> Double {
        let known = costs.values
        let fallback = known.isEmpty ? nil : Cost(step: known.map(\.step).reduce(0, +) / Double(known.count),
                                                  evaluation: known.map(\.evaluation).reduce(0, +) / Double(known.count))
        var total = 0.0
        var reached = current == nil
        for plan in pending {
            if !reached { if plan.id == current { reached = true } else { continue } }
            guard let c = costs[plan.config] ?? fallback else { continue }
            let from = plan.id == current ? currentStep : 0
            total += Double(spec.steps - from) * c.step + Double(evaluations(after: from)) * c.evaluation
        }
        return total
    }

    // MARK: one run

    /// Trains one run to the end (or until the stop hook says so). Returns whether it stopped early.
    private func train(_ plan: ExperimentRunPlan, status: RunStatus, records: inout [ExperimentRecord], done: Int, total: Int,
                       pending: [ExperimentRunPlan], outcome: inout Outcome) throws -> Bool {
        let run: OpenedRun
        var from = 0
        if case .partial(let step) = status {
            let (restored, manifest) = try archive.restore(path: folder + "/" + plan.id)
            run = restored
            from = manifest.step
            outcome.resumed[plan.id] = from
            run.session.note("experiment \(spec.name): resumed at step \(from)", marker: "resumed")
            precondition(step == from)
        } else {
            run = try open(plan)
        }
        // Records written after the snapshot are measured again: drop them (and any line cut by a kill).
        records.removeAll { $0.run == plan.id && $0.step > from }
        try results.rewrite(records)
        let session = run.session
        try session.run(steps: spec.steps - from)
        session.apply(.setEvalEvery(spec.evalEvery))
        session.apply(.setTrainModeEvaluation(spec.bothEvaluationModes))
        // Angle statistics come every 25 steps; a shorter evaluation interval gets them at every evaluation.
        if spec.evalEvery < run.trainer.hyper.statsEvery { session.apply(.setStatsEvery(spec.evalEvery)) }
        session.saveEvery = spec.saveEvery
        var evalSecondsSoFar = records.filter { $0.run == plan.id }.compactMap(\.evalSeconds).reduce(0, +)
        var previousEvalStep = records.filter { $0.run == plan.id }.map(\.step).max() ?? 0

        let eta = remainingSeconds(pending, current: plan.id, currentStep: from)
        say("[\(done + 1)/\(total)] \(plan.id)" + (from > 0 ? " — resuming at step \(from)" : "") + (costs.isEmpty ? "" : " · experiment ETA " + ProgressBar.duration(eta)),
            json: [("event", .string("run_start")), ("run", .string(plan.id)), ("config", .string(plan.config)), ("seed", .int(Int(plan.seed))),
                   ("from_step", .int(from)), ("index", .int(done + 1)), ("runs", .int(total)), ("eta_seconds", .double(costs.isEmpty ? .nan : eta))])
        var lastAccuracy: Double?
        var savedStep = from   // the step a rerun continues from (0: a fresh start)
        func save() throws {
            _ = try archive.write(archive.capture(session, identity: run.identity), name: plan.id)
            session.apply(.markSaved(plan.id))
            savedStep = session.step
        }
        while session.state == .running {
            if let signal = stopSignal(plan.id, session.step) {
                // Keep the steps done since the last snapshot: the rerun continues exactly here.
                var current: String
                if session.unsavedSteps > 0 {
                    do {
                        try save()
                        current = "\(plan.id) saved at step \(session.step) and continues from there"
                    } catch {
                        current = "saving \(plan.id) failed (\(error)); it continues from "
                            + (savedStep > 0 ? "its snapshot at step \(savedStep)" : "the start")
                    }
                } else {
                    current = savedStep > 0 ? "\(plan.id) continues from its snapshot at step \(savedStep)" : "\(plan.id) had not started and starts from the beginning"
                }
                throw StopRequest(signal: signal, current: current)
            }
            for event in session.advance() {
                switch event {
                case .stepFinished(let r):
                    let c = costs[plan.config]
                    costs[plan.config] = Cost(step: c.map { 0.9 * $0.step + 0.1 * r.seconds } ?? r.seconds, evaluation: c?.evaluation ?? 0)
                    if style == .progressBar {
                        let eta = remainingSeconds(pending, current: plan.id, currentStep: r.step)
                        let fraction = (Double(done) + Double(r.step) / Double(spec.steps)) / Double(total)
                        let text = " runs \(done)/\(total) · \(plan.id) step \(r.step)/\(spec.steps)"
                            + (lastAccuracy.map { String(format: " · test %.1f%%", 100 * $0) } ?? "") + " · ETA " + ProgressBar.duration(eta)
                        writeProgress("\r" + ProgressBar.line(fraction: fraction, suffix: text, columns: columns(), glyphs: glyphs, widest: 20))
                    }
                case .evaluationFinished(let e):
                    evalSecondsSoFar += e.seconds
                    let c = costs[plan.config]
                    costs[plan.config] = Cost(step: c?.step ?? 0, evaluation: c.map { $0.evaluation == 0 ? e.seconds : 0.7 * $0.evaluation + 0.3 * e.seconds } ?? e.seconds)
                    let record = makeRecord(plan, session: session, evaluation: e, evalSecondsSoFar: evalSecondsSoFar, previousStep: previousEvalStep)
                    previousEvalStep = e.step
                    lastAccuracy = e.accuracy
                    try results.append(record)
                    records.append(record)
                    switch style {
                    case .json:
                        write(String(decoding: try ExperimentResultsFile.encoder.encode(record), as: UTF8.self))
                    case .plain:
                        write(glyphs.text(String(format: "  %@ step %d: test %.2f%%", plan.id, e.step, 100 * e.accuracy)
                              + (e.trainModeAccuracy.map { String(format: " (train-mode BN %.2f%%)", 100 * $0) } ?? "")))
                    case .progressBar, .quiet: break
                    }
                case .saveDue:
                    try save()
                case .diverged(let step, let message):
                    var record = ExperimentRecord(run: plan.id, config: plan.config, seed: plan.seed, step: step,
                                                  seconds: session.history.elapsedSeconds - evalSecondsSoFar, axes: plan.axes)
                    record.diverged = true
                    try results.append(record)
                    records.append(record)
                    try save()
                    say("\(plan.id): \(message)", json: [("event", .string("diverged")), ("run", .string(plan.id)), ("step", .int(step))])
                    outcome.completed.append(plan.id)
                    return false
                case .failed(let message):
                    throw ExperimentError("run \(plan.id) failed at step \(session.step): \(message)")
                case .finished, .evaluationStarted, .statisticsMeasured, .logged:
                    break
                }
            }
            if let stop = shouldStop, stop(plan.id, session.step) { return true }
        }
        try save()
        outcome.completed.append(plan.id)
        if style == .progressBar { writeProgress("\r\u{1B}[K") }
        let final = records.last { $0.run == plan.id }
        say("[\(done + 1)/\(total)] \(plan.id) finished" + (final?.testAccuracy.map { String(format: ": test %.2f%%", 100 * $0) } ?? ""),
            json: [("event", .string("run_done")), ("run", .string(plan.id)), ("test_accuracy", .double(final?.testAccuracy ?? .nan))])
        return false
    }

    private func makeRecord(_ plan: ExperimentRunPlan, session: TrainingSession, evaluation e: EvaluationResult,
                            evalSecondsSoFar: Double, previousStep: Int) -> ExperimentRecord {
        let history = session.history
        let window = history.trainLoss.points.filter { $0.step > previousStep && $0.step <= e.step }
        let accWindow = history.trainAccuracy.points.filter { $0.step > previousStep && $0.step <= e.step }
        var record = ExperimentRecord(run: plan.id, config: plan.config, seed: plan.seed, step: e.step,
                                      seconds: max(0, history.elapsedSeconds - evalSecondsSoFar), axes: plan.axes)
        record.evalSeconds = e.seconds
        record.testAccuracy = e.accuracy
        record.testLoss = e.loss
        record.testAccuracyTrainBN = e.trainModeAccuracy
        record.examples = e.examples
        record.trainLoss = window.isEmpty ? nil : window.map(\.value).reduce(0, +) / Double(window.count)
        record.trainAccuracy = accWindow.isEmpty ? nil : accWindow.map(\.value).reduce(0, +) / Double(accWindow.count)
        var theta: [String: Double] = [:]
        for a in session.telemetry().angles where a.percentiles.count > 2 { theta[a.layer] = a.percentiles[2] }
        record.medianTheta = theta.isEmpty ? nil : theta
        return record
    }

    private func say(_ text: String, json fields: [(String, JSONLine.Value)]) {
        switch style {
        case .json: write(JSONLine.object(fields))
        case .plain: write(glyphs.text(text))
        case .progressBar:
            writeProgress("\r\u{1B}[K")
            write(glyphs.text(text))
        case .quiet: break
        }
    }
}
