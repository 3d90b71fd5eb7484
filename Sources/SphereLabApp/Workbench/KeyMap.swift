import TUI

/// Everything a key can do in the workbench. One table (`KeyMap.bindings`) binds keys to
/// these, and the help overlay is generated from the same table.
public enum Action: String, Sendable, CaseIterable {
    case togglePause, stepOnce, learningRateUp, learningRateDown, nextVariant
    case focusNext, focusPrevious, moveUp, moveDown, moveLeft, moveRight, edit, cancel
    case previousLayer, nextLayer, evaluateNow, save, open, help, quit
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
        KeyBinding(keys: [.char("e")], action: .evaluateNow, label: "e", help: "evaluate on the test set now"),
        KeyBinding(keys: [.char("s")], action: .save, label: "s", help: "save a snapshot"),
        KeyBinding(keys: [.char("o")], action: .open, label: "o", help: "open a snapshot"),
        KeyBinding(keys: [.char("?"), .f(1)], action: .help, label: "?/F1", help: "this help"),
        KeyBinding(keys: [.char("q"), .ctrlC], action: .quit, label: "q", help: "quit (asks to save unsaved progress)"),
    ]

    static let table: [Key: Action] = {
        var t: [Key: Action] = [:]
        for b in bindings { for k in b.keys { t[k] = b.action } }
        return t
    }()

    public static func action(for key: Key) -> Action? { table[key] }

    /// The short hints of the help bar.
    public static let hints: [KeyHint] = [
        KeyHint("space", "pause"), KeyHint("n", "step"), KeyHint("+/-", "lr"), KeyHint("v", "variant"),
        KeyHint("tab", "focus"), KeyHint("enter", "edit"), KeyHint("[ ]", "layer"), KeyHint("e", "eval"),
        KeyHint("s", "save"), KeyHint("o", "open"), KeyHint("?", "help"), KeyHint("q", "quit"),
    ]
}
