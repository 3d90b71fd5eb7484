import TUI

/// Everything a key can do in the workbench. One table (`KeyMap.bindings`) binds keys to
/// these, and the help overlay is generated from the same table.
public enum Action: String, Sendable, CaseIterable {
    case togglePause, stepOnce, learningRateUp, learningRateDown, nextVariant
    case focusNext, focusPrevious, moveUp, moveDown, moveLeft, moveRight, edit, cancel
    case previousLayer, nextLayer, evaluateNow, save, open, help, quit
    case chartWindow, logScale, timeAxis, allLayers, classes, logOlder, logNewer
    case pickGhost, clearGhosts
    case focusRun, applyToAll, addRun, branchRun, removeRun, sortScoreboard, editThresholds

    /// Keys that act on a race's runs (in one run they say how to start a race).
    var isRaceAction: Bool {
        switch self {
        case .focusRun, .applyToAll, .addRun, .branchRun, .removeRun, .sortScoreboard, .editThresholds: return true
        default: return false
        }
    }
}

public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var action: Action
    public var label: String
    public var help: String
}

public enum KeyMap {
    public static let bindings: [KeyBinding] = [
        KeyBinding(keys: [.char(" ")], action: .togglePause, label: "space", help: "pause / resume training"),
        KeyBinding(keys: [.char("n")], action: .stepOnce, label: "n", help: "one step while paused"),
        KeyBinding(keys: [.char("+"), .char("=")], action: .learningRateUp, label: "+", help: "learning rate ×2"),
        KeyBinding(keys: [.char("-"), .char("_")], action: .learningRateDown, label: "-", help: "learning rate ÷2"),
        KeyBinding(keys: [.char("v")], action: .nextVariant, label: "v", help: "next SphereConv variant (weights kept)"),
        KeyBinding(keys: [.tab], action: .focusNext, label: "tab", help: "focus next panel"),
        KeyBinding(keys: [.backTab], action: .focusPrevious, label: "S-tab", help: "focus previous panel"),
        KeyBinding(keys: [.up, .char("k")], action: .moveUp, label: "↑/k", help: "previous control"),
        KeyBinding(keys: [.down, .char("j")], action: .moveDown, label: "↓/j", help: "next control"),
        KeyBinding(keys: [.left, .char("h")], action: .moveLeft, label: "←/h", help: "previous choice of a control / layer"),
        KeyBinding(keys: [.right, .char("l")], action: .moveRight, label: "→/l", help: "next choice of a control / layer"),
        KeyBinding(keys: [.enter], action: .edit, label: "enter", help: "edit the selected control (enter applies, esc cancels)"),
        KeyBinding(keys: [.escape], action: .cancel, label: "esc", help: "close a dialog, cancel an edit"),
        KeyBinding(keys: [.char("[")], action: .previousLayer, label: "[", help: "previous layer in the angle view"),
        KeyBinding(keys: [.char("]")], action: .nextLayer, label: "]", help: "next layer in the angle view"),
        KeyBinding(keys: [.char("a")], action: .allLayers, label: "a", help: "angle view: one layer / all layers' median θ"),
        KeyBinding(keys: [.char("w")], action: .chartWindow, label: "w", help: "charts: whole run / last 2000 / last 500 steps"),
        KeyBinding(keys: [.char("y")], action: .logScale, label: "y", help: "loss axis: linear / logarithmic"),
        KeyBinding(keys: [.char("t")], action: .timeAxis, label: "t", help: "charts' x axis: steps / compute time"),
        KeyBinding(keys: [.char("c")], action: .classes, label: "c", help: "per-class accuracy and confusion matrix"),
        KeyBinding(keys: [.pageUp], action: .logOlder, label: "PgUp", help: "event log: older lines (↑↓ when the log has focus)"),
        KeyBinding(keys: [.pageDown], action: .logNewer, label: "PgDn", help: "event log: newer lines (End follows)"),
        KeyBinding(keys: [.char("e")], action: .evaluateNow, label: "e", help: "evaluate on the test set now"),
        KeyBinding(keys: [.char("s")], action: .save, label: "s", help: "save a snapshot (in a race: the whole race, as one folder)"),
        KeyBinding(keys: [.char("o")], action: .open, label: "o", help: "open a snapshot or a saved race"),
        KeyBinding(keys: [.char("g")], action: .pickGhost, label: "g", help: "ghost: overlay a saved snapshot's or race's curves, dimmed"),
        KeyBinding(keys: [.char("G")], action: .clearGhosts, label: "G", help: "clear the ghosts"),
        KeyBinding(keys: (1...8).map { .char(Character(String($0))) }, action: .focusRun, label: "1–8", help: "race: focus a run (angles, controls, events follow it)"),
        KeyBinding(keys: [.char("A")], action: .applyToAll, label: "A", help: "race: changes apply to the focused run / to all runs"),
        KeyBinding(keys: [.char("r")], action: .addRun, label: "r", help: "race: add a contender from the start (a run spec)"),
        KeyBinding(keys: [.char("b")], action: .branchRun, label: "b", help: "race: branch the focused run at its step (a run spec of changes)"),
        KeyBinding(keys: [.char("x")], action: .removeRun, label: "x", help: "race: remove the focused run (asks first)"),
        KeyBinding(keys: [.char(">")], action: .sortScoreboard, label: ">", help: "race: sort the scoreboard by the next column"),
        KeyBinding(keys: [.char("%")], action: .editThresholds, label: "%", help: "race: edit the scoreboard's accuracy thresholds"),
        KeyBinding(keys: [.char("?"), .f(1)], action: .help, label: "?/F1", help: "this help"),
        KeyBinding(keys: [.char("q"), .ctrlC], action: .quit, label: "q/^C", help: "quit (asks to save unsaved progress; ^C twice: at once, unsaved)"),
    ]

    static let table: [Key: Action] = {
        var t: [Key: Action] = [:]
        for b in bindings { for k in b.keys { t[k] = b.action } }
        return t
    }()

    public static func action(for key: Key) -> Action? { table[key] }

    /// The short hints of the help bar; when the bar is short of room the lowest priorities
    /// go first, so `? help` and `q quit` always stay.
    public static let hints: [KeyHint] = [
        KeyHint("space", "pause", priority: 8), KeyHint("n", "step", priority: 3), KeyHint("+/-", "lr", priority: 7),
        KeyHint("v", "variant", priority: 6), KeyHint("tab", "focus", priority: 5), KeyHint("enter", "edit", priority: 4),
        KeyHint("[ ]", "layer", priority: 1), KeyHint("w", "window", priority: 2), KeyHint("y", "log", priority: 1),
        KeyHint("t", "time", priority: 1), KeyHint("c", "classes", priority: 2), KeyHint("e", "eval", priority: 2),
        KeyHint("s", "save", priority: 6), KeyHint("o", "open", priority: 3), KeyHint("?", "help", priority: 10),
        KeyHint("q", "quit", priority: 10),
    ]

    /// The key bar in a race: the race keys take the place of the rarer single-run ones.
    public static let raceHints: [KeyHint] = [
        KeyHint("space", "pause", priority: 8), KeyHint("1-8", "focus", priority: 9), KeyHint("A", "all/one", priority: 7),
        KeyHint("+/-", "lr", priority: 6), KeyHint("v", "variant", priority: 5), KeyHint("r", "add", priority: 4),
        KeyHint("b", "branch", priority: 4), KeyHint("x", "remove", priority: 3), KeyHint(">", "sort", priority: 2),
        KeyHint("t", "time", priority: 1), KeyHint("g", "ghost", priority: 1), KeyHint("s", "save", priority: 6),
        KeyHint("?", "help", priority: 10), KeyHint("q", "quit", priority: 10),
    ]
}