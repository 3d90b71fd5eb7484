import Foundation
import Engine
import TUI

/// One contender on screen: its latest telemetry, its smoothed curves, and the colour/glyph
/// slot it keeps while others come and go.
public struct RaceRun: Sendable {
    public var name: String
    public var forkedFrom: String?
    public var forkStep: Int?
    public var telemetry: Telemetry
    public var smoother = CurveSmoother()
    public var slot: Int
}

/// A scoreboard column the rows can be sorted by.
public enum ScoreColumn: Equatable, Sendable {
    case order, name, step, loss, lastTest, bestTest, threshold(Int), speed, theta

    public var title: String {
        switch self {
        case .order: return "#"
        case .name: return "run"
        case .step: return "step"
        case .loss: return "loss"
        case .lastTest: return "test"
        case .bestTest: return "best"
        case .threshold(let i): return "threshold \(i + 1)"
        case .speed: return "img/s"
        case .theta: return "θ"
        }
    }

    /// The columns in cycling order for `thresholds` thresholds.
    static func all(thresholds: Int) -> [ScoreColumn] {
        [.order, .name, .step, .loss, .lastTest, .bestTest] + (0..<thresholds).map { .threshold($0) } + [.speed, .theta]
    }
}

/// A row of the workbench's scoreboard: a run's number (its focus key), slot and score.
public struct ScoreRow: Equatable, Sendable {
    public var number: Int
    public var slot: Int
    public var score: RaceScore
    /// Median θ (radians) of the layer shown in the angle view, in this run.
    public var theta: Double?
}

/// The race as the workbench holds it: the runs, which one is focused, where changes go,
/// the scoreboard's sort column and thresholds, and the request new contenders start from.
public struct RaceBoard: Sendable {
    public var runs: [RaceRun] = []
    public var focused = 0
    /// Changes (learning rate, variant, optimizer, …) go to every run instead of the focused one.
    public var applyToAll = false
    public var sort: ScoreColumn = .order
    public var thresholds = RaceBoard.defaultThresholds
    /// The scoreboard's thresholds until `%` changes them (and for a race saved without any).
    public static let defaultThresholds: [Double] = [0.80, 0.85, 0.88]
    /// What `--run`-style specs typed in the add dialog change (the race's shared options).
    public var base: RunRequest
    /// What the last save holds (or the saved race this one was opened from) beyond the runs'
    /// steps, so that a change of those alone still counts as unsaved.
    public var saved = SavedPart()

    /// The part of a race's save that steps do not tell: the scoreboard's thresholds and which
    /// runs it holds (nil: the runs on screen when the race first appears, nothing to save).
    public struct SavedPart: Sendable, Equatable {
        public var thresholds = RaceBoard.defaultThresholds
        public var runs: [String]?
        public init(thresholds: [Double] = RaceBoard.defaultThresholds, runs: [String]? = nil) {
            self.thresholds = thresholds; self.runs = runs
        }
    }

    public init(base: RunRequest) { self.base = base }

    /// What differs from the last save besides steps, in words for the quit and open dialogs
    /// (a run added, branched or removed; thresholds edited with `%`).
    public var unsavedChanges: [String] {
        var out: [String] = []
        if let names = saved.runs, names != runs.map(\.name) { out.append("the race's runs (added, branched or removed)") }
        if thresholds != saved.thresholds { out.append("the scoreboard's thresholds") }
        return out
    }

    public var focusedName: String? { runs.indices.contains(focused) ? runs[focused].name : nil }

    /// The spec keys that define the model: a branch copies its weights, so it keeps them.
    static let modelKeys = ["model", "depth", "width", "normalization"]

    /// The keys a spec of `kind` may use (the dialog lists them).
    static func specKeys(_ kind: RunSpecDialog.Kind) -> [String] {
        if case .branch = kind { return RaceSpec.keys.filter { !modelKeys.contains($0) } }
        return RaceSpec.keys
    }

    /// Takes the controller's picture in: known runs are updated (smoothed curves extended),
    /// new ones get the lowest free slot, removed ones go; the focus stays on its run.
    mutating func absorb(_ pictures: [RunTelemetry], smoothing: Double) {
        let focusName = focusedName
        var byName: [String: RaceRun] = [:]
        for r in runs { byName[r.name] = r }
        var used = Set(pictures.compactMap { byName[$0.name]?.slot })
        runs = pictures.map { p in
            if var r = byName[p.name] {
                r.smoother.absorb(old: r.telemetry, new: p.telemetry, weight: smoothing)
                r.telemetry = p.telemetry
                r.forkedFrom = p.forkedFrom
                r.forkStep = p.forkStep
                return r
            }
            let slot = (0..<Race.maximumContenders).first { !used.contains($0) } ?? 0
            used.insert(slot)
            var r = RaceRun(name: p.name, forkedFrom: p.forkedFrom, forkStep: p.forkStep, telemetry: p.telemetry, slot: slot)
            r.smoother.extend(p.telemetry, weight: smoothing)
            return r
        }
        focused = runs.firstIndex { $0.name == focusName } ?? min(focused, max(0, runs.count - 1))
        if saved.runs == nil { saved.runs = runs.map(\.name) }
    }

    /// A TrainerCommand's recipients: changes go to the focused run (or all, when
    /// `applyToAll`); pausing, stepping, evaluating and the evaluation schedule go to all, so
    /// the runs stay in step and evaluate together.
    func recipients(of command: TrainerCommand) -> [String]? {
        switch command {
        case .setLearningRate, .scaleLearningRate, .setVariant, .setOptimizer, .setWeightDecay, .setOrthogonality,
             .setHead, .setBatchSize:
            return applyToAll ? nil : focusedName.map { [$0] }
        default:
            return nil
        }
    }

    /// The scoreboard's rows, sorted by `sort` (ties keep the run order). `layer` names the
    /// angle view's layer (its median θ is a column).
    func rows(layer: String?) -> [ScoreRow] {
        let out = runs.enumerated().map { i, r in
            ScoreRow(number: i + 1, slot: r.slot, score: RaceBoard.score(r, thresholds: thresholds),
                     theta: RaceBoard.medianTheta(r.telemetry, layer: layer))
        }
        return RaceBoard.sorted(out, by: sort)
    }

    static func sorted(_ rows: [ScoreRow], by column: ScoreColumn) -> [ScoreRow] {
        // nil sorts last; the better value first (lower loss and time, higher accuracy and speed).
        func key(_ r: ScoreRow) -> Double? {
            switch column {
            case .order, .name: return nil
            case .step: return -Double(r.score.step)
            case .loss: return r.score.smoothedLoss
            case .lastTest: return r.score.lastTestAccuracy.map { -$0 }
            case .bestTest: return r.score.bestTestAccuracy.map { -$0 }
            case .threshold(let i): return i < r.score.reached.count ? r.score.reached[i].map { Double($0.step) } : nil
            case .speed: return -r.score.imagesPerSecond
            case .theta: return r.theta
            }
        }
        let indexed = Array(rows.enumerated())
        return indexed.sorted { a, b in
            if column == .name, a.element.score.name != b.element.score.name { return a.element.score.name < b.element.score.name }
            switch (key(a.element), key(b.element)) {
            case let (x?, y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)
    }

    /// A run's score from its telemetry: step, smoothed loss (the legend's ≈ value), last and
    /// best test accuracy, the first evaluation at or above each threshold, speed.
    static func score(_ r: RaceRun, thresholds: [Double]) -> RaceScore {
        let t = r.telemetry
        var s = RaceScore(name: r.name, thresholds: thresholds.count)
        s.step = t.step
        s.smoothedLoss = r.smoother.loss.last?.value ?? t.history.trainLoss.last?.value
        s.lastTestAccuracy = t.history.testAccuracy.last?.value
        s.bestTestAccuracy = t.history.bestTestAccuracy?.value
        s.imagesPerSecond = t.imagesPerSecond
        let from = r.forkStep ?? Int.min
        for (i, threshold) in thresholds.enumerated() {
            if let hit = t.history.testAccuracy.spans.first(where: { $0.max >= threshold && $0.step >= from }) {
                s.reached[i] = RaceScore.Reached(step: hit.step, seconds: hit.seconds ?? 0)
            }
        }
        return s
    }

    static func medianTheta(_ t: Telemetry, layer: String?) -> Double? {
        let layers = WorkbenchView.layersShown(t)
        guard let a = layer.flatMap({ name in layers.first { $0.layer == name } }) ?? layers.first else { return nil }
        return WorkbenchView.median(a)
    }

    /// Thresholds typed as percentages (`80 85 88` or `80,85`): 1–4 values in (0, 100].
    public static func parseThresholds(_ text: String) throws -> [Double] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "%" })
        guard !words.isEmpty, words.count <= 4 else { throw EngineError("give 1 to 4 accuracy thresholds in %, e.g. 80 85 88") }
        let values = try words.map { w -> Double in
            guard let v = Double(w), v > 0, v <= 100 else { throw EngineError("'\(w)' is not a percentage in (0, 100]; e.g. 80 85 88") }
            return v / 100
        }
        return Array(Set(values)).sorted()
    }
}

/// The add and branch dialogs: a run spec being typed, and the last refusal.
public struct RunSpecDialog: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case add, branch(of: String, step: Int) }
    public var kind: Kind
    public var text = ""
    public var error: String?
}

extension AppState {
    /// Steps not saved in any run on screen (the quit and open dialogs ask about them).
    public var unsavedSteps: Int { race.map { $0.runs.map(\.telemetry.unsavedSteps).max() ?? 0 } ?? telemetry.unsavedSteps }

    /// Whether quitting or opening something else would lose anything: steps, or a race's
    /// runs or thresholds changed since its last save.
    public var hasUnsavedChanges: Bool { unsavedSteps > 0 || !(race?.unsavedChanges.isEmpty ?? true) }

    /// What is not saved, a phrase each: "12 steps of the race", "the scoreboard's thresholds".
    public var unsavedParts: [String] {
        (unsavedSteps > 0 ? ["\(unsavedSteps) steps " + (race == nil ? "of this run" : "of the race")] : []) + (race?.unsavedChanges ?? [])
    }

    /// Takes the race controller's picture; the focused run becomes `telemetry` (so the angle
    /// view, controls, log and header follow it).
    mutating func absorbRace(_ pictures: [RunTelemetry]) {
        guard var board = race else { return }
        let before = board.focusedName
        let namesBefore = board.runs.map(\.name)
        board.absorb(pictures, smoothing: smoothing)
        race = board
        // Adding, branching and removing finish on the race's queue: say what happened (the
        // status said "adding…" until now), so the news is not left to the event log.
        if !namesBefore.isEmpty {
            let added = board.runs.filter { !namesBefore.contains($0.name) }
            let removed = namesBefore.filter { name in !board.runs.contains { $0.name == name } }
            var news = added.map { r in
                r.forkedFrom.map { "branched \($0) at step \(r.forkStep ?? 0) as \(r.name)" } ?? "added \(r.name) (from the start)"
            }
            news += removed.map { "removed \($0)" }
            if !news.isEmpty { status = news.joined(separator: "; ") + " · race of \(board.runs.count)" }
        }
        guard let focused = board.runs.indices.contains(board.focused) ? board.runs[board.focused] : nil else { return }
        if focused.name == before { absorb(focused.telemetry) } else { showRun(focused) }
    }

    /// Puts `run` on the single-run panels (a focus change): its telemetry, its smoothing,
    /// no pending choices of the previous run.
    mutating func showRun(_ run: RaceRun) {
        telemetry = run.telemetry
        pendingVariant = nil
        pendingLoss = nil
        logScroll = 0
        smoother.reset()
        extendSmoothing()
    }

    mutating func resmoothRace() {
        guard var board = race else { return }
        for i in board.runs.indices {
            board.runs[i].smoother.reset()
            board.runs[i].smoother.extend(board.runs[i].telemetry, weight: smoothing)
        }
        race = board
    }

    /// In a race, a command goes where `RaceBoard.recipients` says; pause/resume is decided
    /// for all runs at once (any running: pause all).
    func routed(_ effects: [AppEffect]) -> [AppEffect] {
        guard let board = race else { return effects }
        return effects.map { e in
            guard case .send(let c) = e else { return e }
            if c == .togglePause {
                let anyRunning = board.runs.contains { $0.telemetry.state == .running }
                return .sendTo(anyRunning ? .pause : .resume, runs: nil)
            }
            return .sendTo(c, runs: board.recipients(of: c))
        }
    }

    /// The race keys (focus, where changes go, add/branch/remove, sort, thresholds).
    mutating func performRace(_ action: Action, key: Key) -> [AppEffect] {
        guard var board = race else {
            status = "\(action == .focusRun ? "number keys focus a race's runs" : "that key works in a race"): start one with spherelab --race conv,cosine, or open a saved race (o)"
            return []
        }
        switch action {
        case .focusRun:
            guard case .char(let c) = key, let n = c.wholeNumberValue, n >= 1 else { return [] }
            guard n <= board.runs.count else { status = "the race has \(board.runs.count) runs: 1–\(board.runs.count) focus one"; return [] }
            board.focused = n - 1
            race = board
            showRun(board.runs[n - 1])
            status = "focus: \(n) \(board.runs[n - 1].name) (angles, controls and events follow it)"
        case .applyToAll:
            board.applyToAll.toggle()
            race = board
            status = board.applyToAll ? "changes apply to ALL runs" : "changes apply to the focused run (\(board.focusedName ?? "–"))"
        case .addRun:
            guard board.runs.count < Race.maximumContenders else { status = "a race holds at most \(Race.maximumContenders) runs; remove one first (x)"; return [] }
            overlay = .runSpec(RunSpecDialog(kind: .add))
        case .branchRun:
            guard board.runs.count < Race.maximumContenders else { status = "a race holds at most \(Race.maximumContenders) runs; remove one first (x)"; return [] }
            guard let name = board.focusedName else { return [] }
            overlay = .runSpec(RunSpecDialog(kind: .branch(of: name, step: telemetry.step)))
        case .removeRun:
            guard let name = board.focusedName else { return [] }
            guard board.runs.count > 1 else { status = "the race's last run stays; quit to end it"; return [] }
            overlay = .confirmRemove(name: name)
        case .sortScoreboard:
            let columns = ScoreColumn.all(thresholds: board.thresholds.count)
            let i = columns.firstIndex(of: board.sort) ?? 0
            board.sort = columns[(i + 1) % columns.count]
            race = board
            status = "scoreboard sorted by \(board.sort.title)"
        case .editThresholds:
            overlay = .thresholds(board.thresholds.map { String(format: "%g", 100 * $0) }.joined(separator: " "), error: nil)
        default: break
        }
        return []
    }

    /// The base a typed spec changes: the race's request; for a branch, the run's current
    /// hyperparameters.
    func specBase(_ kind: RunSpecDialog.Kind) -> RunRequest? {
        guard var base = race?.base else { return nil }
        if case .branch = kind { base.hyper = telemetry.hyper }
        return base
    }

    /// Checks a typed spec with `RaceSpec` (its words on refusal), and the branch's extra
    /// rule: a branch keeps its model.
    func checkSpec(_ text: String, kind: RunSpecDialog.Kind) throws -> String {
        guard let base = specBase(kind) else { throw EngineError("no race to add to") }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if case .branch = kind, trimmed.isEmpty { return "" }
        let (name, _) = try RaceSpec.parse(trimmed, base: base)
        if case .branch = kind {
            for key in RaceBoard.modelKeys where trimmed.lowercased().contains(key + "=") {
                throw EngineError("a branch keeps its model: \(key)= cannot change; add a contender from the start (r) for that")
            }
        }
        if let name, race?.runs.contains(where: { $0.name == name }) == true {
            throw EngineError("the race already has a run named '\(name)'; give another name=…")
        }
        return trimmed
    }

    mutating func handleRaceDialog(_ key: Key) -> [AppEffect] {
        switch overlay {
        case .runSpec(var d):
            switch key {
            case .escape: overlay = .none
            case .enter:
                do {
                    let spec = try checkSpec(d.text, kind: d.kind)
                    overlay = .none
                    switch d.kind {
                    case .add: return [.addRun(spec: spec)]
                    case .branch(let of, _): return [.branchRun(of: of, spec: spec)]
                    }
                } catch {
                    d.error = "\(error)"
                    overlay = .runSpec(d)
                }
            case .backspace, .delete: d.text = String(d.text.dropLast()); d.error = nil; overlay = .runSpec(d)
            case .char(let c): if d.text.count < 120 { d.text.append(c) }; d.error = nil; overlay = .runSpec(d)
            default: break
            }
        case .confirmRemove(let name):
            switch key {
            case .char("y"), .char("Y"): overlay = .none; status = "removing \(name)…"; return [.removeRun(name)]
            case .char("n"), .char("N"), .escape: overlay = .none
            default: break
            }
        case .thresholds(var text, _):
            switch key {
            case .escape: overlay = .none
            case .enter:
                do {
                    let values = try RaceBoard.parseThresholds(text)
                    race?.thresholds = values
                    if case .threshold(let i) = race?.sort, i >= values.count { race?.sort = .order }
                    overlay = .none
                    status = "scoreboard thresholds: " + values.map { String(format: "%g %%", 100 * $0) }.joined(separator: ", ")
                } catch {
                    overlay = .thresholds(text, error: "\(error)")
                }
            case .backspace, .delete: text = String(text.dropLast()); overlay = .thresholds(text, error: nil)
            case .char(let c): if text.count < 40 { text.append(c) }; overlay = .thresholds(text, error: nil)
            default: break
            }
        case .ghostPicker(let list, let selected):
            switch key {
            case .up, .char("k"): overlay = .ghostPicker(list, selected: max(0, selected - 1))
            case .down, .char("j"): overlay = .ghostPicker(list, selected: min(list.count - 1, selected + 1))
            case .enter:
                if list[selected].damaged { status = "cannot read \(list[selected].name): \(list[selected].detail)"; return [] }
                overlay = .none
                return [.loadGhost(path: list[selected].path)]
            case .escape, .char("q"): overlay = .none
            default: break
            }
        default: break
        }
        return []
    }
}
