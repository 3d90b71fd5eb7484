import Foundation
import Engine
import TUI
import SessionStore

/// What the runner must do outside the pure update: talk to the trainer, the disk, or quit.
public enum AppEffect: Equatable, Sendable {
    case send(TrainerCommand)
    case setSmoothing(Double)
    case setTrainModeBN(Bool)
    case save(name: String)
    case listSnapshots
    case open(path: String)
    case quit
    case saveAndQuit(name: String)
    // Race mode.
    /// A command to the named runs (nil: every run).
    case sendTo(TrainerCommand, runs: [String]?)
    /// A contender from the start, as a checked run spec (`name=x variant=sigmoid lr=0.002`).
    case addRun(spec: String)
    /// A branch of the named run at its current step, with the spec's changes.
    case branchRun(of: String, spec: String)
    case removeRun(String)
    /// Ghosts: list saved snapshots and races to pick from; read one's curves.
    case listGhosts
    case loadGhost(path: String)
}

public enum Focus: Int, CaseIterable, Sendable { case charts, angles, controls, log }

/// How much of the run the loss and accuracy charts show: all of it or the last N steps.
public enum ChartWindow: Int, CaseIterable, Sendable {
    case all, last2000, last500

    /// Steps shown (nil: the whole run).
    public var steps: Int? {
        switch self {
        case .all: return nil
        case .last2000: return 2000
        case .last500: return 500
        }
    }

    public var name: String { steps.map { "last \($0) steps" } ?? "whole run" }
    /// Narrower with `delta` > 0 (zoom in), wider with `delta` < 0; stops at the ends.
    func zoomed(_ delta: Int) -> ChartWindow {
        ChartWindow(rawValue: min(max(rawValue + delta, 0), ChartWindow.allCases.count - 1))!
    }
}

/// A value the user chose and sent to the trainer, shown and built on until the trainer's
/// telemetry reports it (or enough telemetry went by that it must have been applied or refused).
public struct Pending<Value: Equatable & Sendable>: Equatable, Sendable {
    public var value: Value
    /// The sequence of the first telemetry read after the value was sent (nil: none yet).
    public var firstSeen: Int?
    /// The trainer's loop takes commands, applies them, advances and publishes; a telemetry
    /// published this many sequences after the first one read after sending has seen the
    /// command applied (or refused), whether that first one was published before or after it.
    static var patience: Int { 3 }

    public init(value: Value) { self.value = value }

    /// Whether telemetry `sequence` (which shows the value when `confirmed`) settles the choice;
    /// remembers the first sequence seen.
    mutating func settles(sequence: Int, confirmed: Bool) -> Bool {
        if confirmed { return true }
        guard let first = firstSeen else { firstSeen = sequence; return false }
        return sequence >= first + Pending.patience
    }
}

/// A snapshot as the open dialog lists it.
public struct SnapshotEntry: Equatable, Sendable {
    public var name: String, path: String, detail: String
    /// Listed but would not load; `detail` says why.
    public var damaged = false
    public init(name: String, path: String, detail: String, damaged: Bool = false) {
        self.name = name; self.path = path; self.detail = detail; self.damaged = damaged
    }
}

public enum Overlay: Equatable, Sendable {
    case none
    case help
    case confirmQuit
    case saveName(String)
    case snapshots([SnapshotEntry], selected: Int)
    case confirmOpen(path: String)
    case message(title: String, lines: [String])
    case runSpec(RunSpecDialog)
    case confirmRemove(name: String)
    case thresholds(String, error: String?)
    case ghostPicker([SnapshotEntry], selected: Int)
}

/// Events the update function handles: keys, and news from the runner.
public enum AppEvent: Sendable {
    case key(Key)
    /// The terminal's size (the runner reports it before drawing; mouse hits need the layout).
    case resize(width: Int, height: Int)
    case telemetry(Telemetry)
    case snapshots([SnapshotEntry])
    case status(String)
    /// Every race contender's latest telemetry (race mode).
    case race([RunTelemetry])
    /// Saved snapshots and races to pick a ghost from; curves read for the ghost overlay.
    case ghostChoices([SnapshotEntry])
    case ghosts([Ghost])
}

/// The workbench's whole UI state. `update` is pure apart from returning effects; the view
/// renders it without changing it.
public struct AppState: Sendable {
    public var telemetry: Telemetry
    public var focus: Focus = .charts
    public var selectedLayer = 0
    public var selectedControl = 0
    /// Text being typed into the selected control, if editing.
    public var editText: String?
    public var editError: String?
    /// TensorBoard-style smoothing weight of the training curves.
    public var smoothing = 0.6
    public var trainModeBN = false
    public var overlay: Overlay = .none
    public var status: String?
    public var glyphs: GlyphSet = .unicode
    /// Whether saving/opening snapshots is available in this build of the workbench.
    public var sessionsAvailable = true
    /// A snapshot is being written (the header shows SAVING; training goes on).
    public var saving = false
    /// Debiased moving averages of the training curves, kept incrementally.
    public internal(set) var smoother = CurveSmoother()
    public var smoothedLoss: [MetricPoint] { smoother.loss }
    public var smoothedAccuracy: [MetricPoint] { smoother.accuracy }

    // Chart and view settings (keys in `KeyMap`).
    public var chartWindow: ChartWindow = .all
    public var logScaleLoss = false
    /// X axis of the loss and accuracy charts in compute seconds instead of steps.
    public var timeAxis = false
    /// The angle panel shows every layer's median θ over steps instead of one layer.
    public var allLayersView = false
    /// The per-class results (accuracy per class, confusion matrix) take the charts' place.
    public var showClasses = false
    /// Lines the event log is scrolled back from the newest (0: follows new lines).
    public var logScroll = 0
    /// The terminal's size as last reported (for mouse hits).
    public var screen = (width: 0, height: 0)
    /// Choices sent but not yet confirmed by telemetry: the next press advances from them.
    public var pendingVariant: Pending<ConvVariant>?
    public var pendingLoss: Pending<LossChoice>?
    /// The race on screen (nil: one run). `telemetry` is then its focused run's.
    public var race: RaceBoard?
    /// Saved curves drawn dimmed behind the live ones.
    public var ghosts: [Ghost] = []

    public init(telemetry: Telemetry) {
        self.telemetry = telemetry
        extendSmoothing()
    }

    public var selectedControlID: Control { Control.allCases[selectedControl] }

    // MARK: update

    public mutating func update(_ event: AppEvent) -> [AppEffect] {
        switch event {
        case .telemetry(let t):
            absorb(t)
            return []
        case .resize(let w, let h):
            screen = (w, h)
            return []
        case .snapshots(let list):
            overlay = list.isEmpty
                ? .message(title: "Open snapshot", lines: ["No snapshots in Sessions/ yet.", "Press s to save one."])
                : .snapshots(list, selected: 0)
            return []
        case .status(let s):
            status = s
            return []
        case .key(let key):
            return routed(handle(key))
        case .race(let runs):
            absorbRace(runs)
            return []
        case .ghostChoices(let list):
            overlay = list.isEmpty ? .message(title: "Ghosts", lines: ["No snapshots in Sessions/ yet.", "Save one (s) to overlay it later."])
                : .ghostPicker(list, selected: 0)
            return []
        case .ghosts(let list):
            ghosts = Array((ghosts + list).suffix(8))
            status = "ghost: " + list.map(\.name).joined(separator: ", ") + " (G clears)"
            return []
        }
    }

    mutating func handle(_ key: Key) -> [AppEffect] {
        if editText != nil { return handleEditing(key) }
        switch overlay {
        case .none: break
        case .runSpec, .confirmRemove, .thresholds, .ghostPicker:
            return handleRaceDialog(key)
        case .help, .message:
            overlay = .none
            return []
        case .confirmQuit:
            switch key {
            case .char("y"), .char("Y"): overlay = .none; return [.saveAndQuit(name: defaultSnapshotName)]
            case .char("n"), .char("N"): overlay = .none; return [.quit]
            case .escape, .char("c"): overlay = .none; return []
            default: return []
            }
        case .saveName(var text):
            switch key {
            case .enter:
                if let problem = SnapshotStore.nameProblem(text) { status = problem; return [] }
                overlay = .none
                return [.save(name: text)]
            case .escape: overlay = .none; return []
            case .backspace: text = String(text.dropLast()); overlay = .saveName(text); return []
            case .char(let c):
                // The store's one rule, in its words: refuse what it would refuse.
                if let problem = SnapshotStore.nameProblem(text + String(c)) { status = problem; return [] }
                text.append(c); status = nil
                overlay = .saveName(text); return []
            default: return []
            }
        case .snapshots(let list, let selected):
            switch key {
            case .up, .char("k"): overlay = .snapshots(list, selected: max(0, selected - 1))
            case .down, .char("j"): overlay = .snapshots(list, selected: min(list.count - 1, selected + 1))
            case .enter:
                if list[selected].damaged { status = "cannot open \(list[selected].name): \(list[selected].detail)"; return [] }
                let path = list[selected].path
                overlay = hasUnsavedChanges ? .confirmOpen(path: path) : .none
                return hasUnsavedChanges ? [] : [.open(path: path)]
            case .escape, .char("q"): overlay = .none
            default: break
            }
            return []
        case .confirmOpen(let path):
            switch key {
            case .char("y"), .char("Y"): overlay = .none; return [.save(name: defaultSnapshotName), .open(path: path)]
            case .char("n"), .char("N"): overlay = .none; return [.open(path: path)]
            case .escape: overlay = .none
            default: break
            }
            return []
        }
        if case .mouse(let m) = key { return handleMouse(m) }
        if focus == .log, [.up, .down, .char("k"), .char("j"), .home, .end].contains(key) {
            logScroll = LogView.scrolled(logScroll, by: key, lineCount: logLineCount, height: logHeight)
            return []
        }
        guard let action = KeyMap.action(for: key) else { return [] }
        if action.isRaceAction { status = nil; return performRace(action, key: key) }
        return perform(action)
    }

    // MARK: mouse

    /// A click focuses the panel under it; the wheel scrolls the log or zooms the charts'
    /// step range. Everything here is also reachable by keys.
    mutating func handleMouse(_ m: MouseEvent) -> [AppEffect] {
        let layout = WorkbenchView.layout(self, width: screen.width, height: screen.height)
        let panel = layout.panel(atX: m.x, y: m.y)
        switch m.action {
        case .press(.left):
            // A click on a scoreboard row focuses that run.
            if let board = layout.scoreboard, var race, m.y > board.y + 1, m.y < board.maxY - 1, m.x >= board.x, m.x < board.maxX {
                let rows = race.rows(layer: RaceView.angleLayer(self))   // in the order shown
                let i = m.y - board.y - 2
                if rows.indices.contains(i) {
                    race.focused = rows[i].number - 1
                    self.race = race
                    showRun(race.runs[race.focused])
                    status = "focus: \(rows[i].number) \(race.runs[race.focused].name)"
                }
                return []
            }
            if let panel { focus = panel }
            if panel == .controls, let controls = layout.controls {
                let row = m.y - controls.y - 1
                if row >= 0, row < Control.allCases.count { selectedControl = row }
            }
        case .wheelUp, .wheelDown:
            let up = m.action == .wheelUp
            switch panel {
            case .log: logScroll = min(max(0, logScroll + (up ? 3 : -3)), LogView.maxScroll(lineCount: logLineCount, height: logHeight))
            case .charts: chartWindow = chartWindow.zoomed(up ? 1 : -1)
            case .controls: selectedControl = (selectedControl + (up ? -1 : 1) + Control.allCases.count) % Control.allCases.count
            case .angles:
                let layers = max(1, WorkbenchView.layersShown(telemetry).count)
                selectedLayer = (selectedLayer + (up ? -1 : 1) + layers) % layers
            case nil: break
            }
        default: break
        }
        return []
    }

    /// Lines in the event log (events and the status line).
    var logLineCount: Int { telemetry.events.count + (status == nil ? 0 : 1) }
    /// Text rows of the log panel at the current size.
    var logHeight: Int {
        let h = WorkbenchView.layout(self, width: screen.width, height: screen.height).log?.height ?? 6
        return max(1, h - 2)
    }

    // MARK: pending choices

    /// The variant the next `v` advances from: the last one chosen, even before the trainer confirms.
    public var currentVariant: ConvVariant { pendingVariant?.value ?? telemetry.hyper.variant }
    public var currentLoss: LossChoice {
        pendingLoss?.value ?? LossChoice(head: telemetry.hyper.head, crossEntropy: telemetry.hyper.crossEntropy)
    }

    /// Notes choices in `effects` as pending until telemetry confirms them.
    mutating func notePending(_ effects: [AppEffect]) {
        for case .send(let c) in effects {
            switch c {
            case .setVariant(let v): pendingVariant = Pending(value: v)
            case .setHead(let h, let ce, _): pendingLoss = Pending(value: LossChoice(head: h, crossEntropy: ce))
            default: break
            }
        }
    }

    /// Drops pending choices the telemetry has caught up with.
    mutating func settlePending() {
        let seq = telemetry.sequence
        if var p = pendingVariant {
            pendingVariant = p.settles(sequence: seq, confirmed: p.value == telemetry.hyper.variant) ? nil : p
        }
        let loss = LossChoice(head: telemetry.hyper.head, crossEntropy: telemetry.hyper.crossEntropy)
        if var p = pendingLoss {
            pendingLoss = p.settles(sequence: seq, confirmed: p.value == loss) ? nil : p
        }
    }

    mutating func perform(_ action: Action) -> [AppEffect] {
        status = nil
        let layers = max(1, WorkbenchView.layersShown(telemetry).count)
        switch action {
        case .togglePause: return [.send(.togglePause)]
        case .stepOnce:
            let running = race.map { $0.runs.contains { $0.telemetry.state == .running } } ?? (telemetry.state == .running)
            if running { status = "n steps once while paused: press space first" ; return [] }
            return [.send(.stepOnce)]
        case .learningRateUp: return [.send(.scaleLearningRate(2))]
        case .learningRateDown: return [.send(.scaleLearningRate(0.5))]
        case .nextVariant:
            let effects: [AppEffect] = [.send(.setVariant(currentVariant.next))]
            notePending(effects)
            return effects
        case .focusNext: focus = Focus(rawValue: (focus.rawValue + 1) % Focus.allCases.count)!
        case .focusPrevious: focus = Focus(rawValue: (focus.rawValue + Focus.allCases.count - 1) % Focus.allCases.count)!
        case .moveUp, .moveDown:
            let delta = action == .moveUp ? -1 : 1
            switch focus {
            case .controls: selectedControl = (selectedControl + delta + Control.allCases.count) % Control.allCases.count
            case .angles: selectedLayer = (selectedLayer + delta + layers) % layers
            case .charts, .log: break
            }
        case .moveLeft, .moveRight:
            let delta = action == .moveLeft ? -1 : 1
            switch focus {
            case .controls: return cycleChoice(delta)
            case .angles: selectedLayer = (selectedLayer + delta + layers) % layers
            case .charts: chartWindow = chartWindow.zoomed(delta)
            case .log: break
            }
        case .edit:
            if focus != .controls { focus = .controls; return [] }
            editText = selectedControlID.value(in: self).replacingOccurrences(of: "–", with: "")
            editError = nil
        case .cancel: break
        case .previousLayer: selectedLayer = (selectedLayer + layers - 1) % layers
        case .nextLayer: selectedLayer = (selectedLayer + 1) % layers
        case .evaluateNow: return [.send(.evaluateNow)]
        case .save:
            guard sessionsAvailable else { status = "snapshots are unavailable: Sessions/ is not writable"; return [] }
            overlay = .saveName(defaultSnapshotName)
        case .open:
            guard sessionsAvailable else { status = "snapshots are unavailable: Sessions/ is not readable"; return [] }
            return [.listSnapshots]
        case .help: overlay = .help
        case .pickGhost:
            guard sessionsAvailable else { status = "ghosts are unavailable: Sessions/ is not readable"; return [] }
            return [.listGhosts]
        case .clearGhosts:
            status = ghosts.isEmpty ? "no ghosts to clear (g picks one)" : "ghosts cleared"
            ghosts = []
        case .focusRun, .applyToAll, .addRun, .branchRun, .removeRun, .sortScoreboard, .editThresholds:
            return performRace(action, key: .char(" "))
        case .chartWindow:
            chartWindow = ChartWindow(rawValue: (chartWindow.rawValue + 1) % ChartWindow.allCases.count)!
            status = "charts: \(chartWindow.name)"
        case .logScale:
            logScaleLoss.toggle()
            status = "loss axis: \(logScaleLoss ? "logarithmic" : "linear")"
        case .timeAxis:
            timeAxis.toggle()
            status = "x axis: \(timeAxis ? "compute time" : "steps")"
        case .allLayers: allLayersView.toggle()
        case .classes: showClasses.toggle()
        case .logOlder, .logNewer:
            logScroll = LogView.scrolled(logScroll, by: action == .logOlder ? .pageUp : .pageDown,
                                         lineCount: logLineCount, height: logHeight)
        case .quit:
            if hasUnsavedChanges && sessionsAvailable { overlay = .confirmQuit; return [] }
            return [.quit]
        }
        return []
    }

    mutating func handleEditing(_ key: Key) -> [AppEffect] {
        guard var text = editText else { return [] }
        switch key {
        case .escape:
            editText = nil; editError = nil
        case .enter:
            do {
                let effects = try selectedControlID.parse(text, in: self)
                editText = nil; editError = nil
                notePending(effects)
                return applyLocal(effects)
            } catch {
                editError = "\(error)"   // the old value stays; the edit stays open to fix
                status = "⚠ \(error)"    // the panel cuts long messages; the status line has room
            }
        case .backspace, .delete:
            text = String(text.dropLast()); editText = text; editError = nil
        case .char(let c):
            if text.count < 40 { text.append(c) }
            editText = text; editError = nil
        default: break
        }
        return []
    }

    mutating func cycleChoice(_ delta: Int) -> [AppEffect] {
        let control = selectedControlID
        guard let choices = control.choices else {
            status = "enter edits \(control.label)"
            return []
        }
        let current = control.value(in: self)
        let i = choices.firstIndex { current.hasPrefix($0) && (current == $0 || current.dropFirst($0.count).first.map { !$0.isLetter && $0 != "-" } ?? true) } ?? 0
        let next = choices[(i + delta + choices.count) % choices.count]
        do {
            let effects = try control.parse(next, in: self)
            notePending(effects)
            return applyLocal(effects)
        } catch {
            status = "\(error)"
            return []
        }
    }

    /// Applies the UI-only effects here and passes the rest on.
    mutating func applyLocal(_ effects: [AppEffect]) -> [AppEffect] {
        var out: [AppEffect] = []
        for e in effects {
            switch e {
            case .setSmoothing(let s):
                smoothing = s
                resmooth()
            case .setTrainModeBN(let on):
                trainModeBN = on
                out.append(.send(.setTrainModeEvaluation(on)))
            default: out.append(e)
            }
        }
        return out
    }

    public var defaultSnapshotName: String { snapshotName(step: telemetry.step) }

    /// The suggested name for a snapshot (or race) holding `step`.
    public func snapshotName(step: Int) -> String { AppState.snapshotName(base: snapshotNameBase, step: step) }

    var snapshotNameBase: String {
        if let board = race { return "race-" + board.runs.map(\.name).joined(separator: "-") }
        return displayRunName.isEmpty ? "run" : displayRunName
    }

    static func snapshotName(base: String, step: Int) -> String {
        String("\(base)-step\(step)".prefix(100)).filter { $0.isLetter || $0.isNumber || "._-".contains($0) }
    }

    /// The run's name with its variant part following the variant now in use
    /// (`spherenet9-cosine-fashion-mnist` after a switch to linear: `spherenet9-linear-fashion-mnist`).
    public var displayRunName: String { AppState.runName(telemetry.runName, variant: currentVariant) }

    public static func runName(_ name: String, variant: ConvVariant) -> String {
        // Longest first: `lr-sigmoid` before `sigmoid`.
        for known in ConvVariant.cycle.map(\.name).sorted(by: { $0.count > $1.count }) {
            if let r = name.range(of: "-\(known)-") {
                return name.replacingCharacters(in: r, with: "-\(variant.name)-")
            }
            if name.hasSuffix("-\(known)") { return String(name.dropLast(known.count)) + variant.name }
        }
        return name
    }

    // MARK: smoothing

    /// Takes new telemetry, extending the smoothed curves with the new points only.
    mutating func absorb(_ t: Telemetry) {
        // A log scrolled back keeps showing the same lines while new ones arrive.
        let newLines = t.events.count - telemetry.events.count
        if logScroll > 0, newLines > 0 { logScroll += newLines }
        let old = telemetry
        telemetry = t
        settlePending()
        smoother.absorb(old: old, new: t, weight: smoothing)
    }

    mutating func resmooth() {
        smoother.reset()
        extendSmoothing()
        resmoothRace()
    }

    mutating func extendSmoothing() {
        smoother.extend(telemetry, weight: smoothing)
    }
}
