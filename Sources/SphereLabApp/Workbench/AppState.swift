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
}

public enum Focus: Int, CaseIterable, Sendable { case charts, angles, controls }

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
}

/// Events the update function handles: keys, and news from the runner.
public enum AppEvent: Sendable {
    case key(Key)
    case telemetry(Telemetry)
    case snapshots([SnapshotEntry])
    case status(String)
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
    public private(set) var smoothedLoss: [MetricPoint] = []
    public private(set) var smoothedAccuracy: [MetricPoint] = []
    private var smoothingState = (loss: 0.0, accuracy: 0.0, count: 0)

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
        case .snapshots(let list):
            overlay = list.isEmpty
                ? .message(title: "Open snapshot", lines: ["No snapshots in Sessions/ yet.", "Press s to save one."])
                : .snapshots(list, selected: 0)
            return []
        case .status(let s):
            status = s
            return []
        case .key(let key):
            return handle(key)
        }
    }

    mutating func handle(_ key: Key) -> [AppEffect] {
        if editText != nil { return handleEditing(key) }
        switch overlay {
        case .none: break
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
                overlay = telemetry.unsavedSteps > 0 ? .confirmOpen(path: path) : .none
                return telemetry.unsavedSteps > 0 ? [] : [.open(path: path)]
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
        guard let action = KeyMap.action(for: key) else { return [] }
        return perform(action)
    }

    mutating func perform(_ action: Action) -> [AppEffect] {
        status = nil
        let layers = max(1, telemetry.angles.count)
        switch action {
        case .togglePause: return [.send(.togglePause)]
        case .stepOnce:
            if telemetry.state == .running { status = "n steps once while paused: press space first" ; return [] }
            return [.send(.stepOnce)]
        case .learningRateUp: return [.send(.scaleLearningRate(2))]
        case .learningRateDown: return [.send(.scaleLearningRate(0.5))]
        case .nextVariant: return [.send(.setVariant(telemetry.hyper.variant.next))]
        case .focusNext: focus = Focus(rawValue: (focus.rawValue + 1) % Focus.allCases.count)!
        case .focusPrevious: focus = Focus(rawValue: (focus.rawValue + Focus.allCases.count - 1) % Focus.allCases.count)!
        case .moveUp, .moveDown:
            let delta = action == .moveUp ? -1 : 1
            switch focus {
            case .controls: selectedControl = (selectedControl + delta + Control.allCases.count) % Control.allCases.count
            case .angles: selectedLayer = (selectedLayer + delta + layers) % layers
            case .charts: break
            }
        case .moveLeft, .moveRight:
            let delta = action == .moveLeft ? -1 : 1
            switch focus {
            case .controls: return cycleChoice(delta)
            case .angles: selectedLayer = (selectedLayer + delta + layers) % layers
            case .charts: break
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
        case .quit:
            if telemetry.unsavedSteps > 0 && sessionsAvailable { overlay = .confirmQuit; return [] }
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
            return applyLocal(try control.parse(next, in: self))
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

    public var defaultSnapshotName: String {
        let base = telemetry.runName.isEmpty ? "run" : telemetry.runName
        return "\(base)-step\(telemetry.step)".filter { $0.isLetter || $0.isNumber || "._-".contains($0) }
    }

    // MARK: smoothing

    /// Takes new telemetry, extending the smoothed curves with the new points only.
    mutating func absorb(_ t: Telemetry) {
        let restarted = t.trainLoss.count < smoothingState.count
        telemetry = t
        if restarted { resmooth(); return }
        extendSmoothing()
    }

    mutating func resmooth() {
        smoothedLoss.removeAll(keepingCapacity: true)
        smoothedAccuracy.removeAll(keepingCapacity: true)
        smoothingState = (0, 0, 0)
        extendSmoothing()
    }

    /// TensorBoard's debiased exponential moving average: m ← w·m + (1−w)·v, shown as
    /// m / (1 − w^n).
    mutating func extendSmoothing() {
        let w = smoothing
        let loss = telemetry.trainLoss, acc = telemetry.trainAccuracy
        var (ml, ma, n) = smoothingState
        while n < loss.count {
            ml = w * ml + (1 - w) * loss[n].value
            ma = w * ma + (1 - w) * (n < acc.count ? acc[n].value : 0)
            n += 1
            let debias = 1 - pow(w, Double(n))
            let scale = debias > 0 ? 1 / debias : 1
            smoothedLoss.append(MetricPoint(step: loss[n - 1].step, value: ml * scale))
            smoothedAccuracy.append(MetricPoint(step: loss[n - 1].step, value: ma * scale))
        }
        smoothingState = (ml, ma, n)
    }
}
