/// A key press, decoded from what ncurses' `get_wch` reports.
public enum Key: Hashable, Sendable {
    case char(Character)
    case enter, tab, backTab, backspace, delete, escape
    case up, down, left, right, home, end, pageUp, pageDown
    /// Function key F1…F63.
    case f(Int)
    /// The terminal changed size: redraw at `Terminal.size`.
    case resize
    /// Ctrl-C arriving as a character (in cbreak mode it arrives as SIGINT instead).
    case ctrlC
    /// A control character or key code with no meaning here; the raw value is kept for logs.
    case unknown(Int32)
    /// A mouse report (only after `Terminal.setMouseReporting(true)`); see `InputDecoder`.
    case mouse(MouseEvent)

    /// What `get_wch` returned: a character, or a key code.
    public enum Input: Equatable, Sendable {
        /// Status OK: `value` is a character (a Unicode scalar value).
        case character(UInt32)
        /// Status KEY_CODE_YES: `value` is a key code such as KEY_UP.
        case keyCode(Int32)
    }

    /// ncurses key codes (`<curses.h>`, octal there). A test holds these to the header's values.
    enum Code {
        static let down: Int32 = 0o402
        static let up: Int32 = 0o403
        static let left: Int32 = 0o404
        static let right: Int32 = 0o405
        static let home: Int32 = 0o406
        static let backspace: Int32 = 0o407
        static let f0: Int32 = 0o410
        static let delete: Int32 = 0o512
        static let pageDown: Int32 = 0o522
        static let pageUp: Int32 = 0o523
        static let enter: Int32 = 0o527
        static let backTab: Int32 = 0o541
        static let end: Int32 = 0o550
        static let resize: Int32 = 0o632
    }

    /// Decodes one `get_wch` result. Pure, so the whole table is testable without a terminal.
    public static func decode(_ input: Input) -> Key {
        switch input {
        case .keyCode(let code):
            switch code {
            case Code.down: return .down
            case Code.up: return .up
            case Code.left: return .left
            case Code.right: return .right
            case Code.home: return .home
            case Code.end: return .end
            case Code.backspace: return .backspace
            case Code.delete: return .delete
            case Code.pageDown: return .pageDown
            case Code.pageUp: return .pageUp
            case Code.enter: return .enter
            case Code.backTab: return .backTab
            case Code.resize: return .resize
            case (Code.f0 + 1)...(Code.f0 + 63): return .f(Int(code - Code.f0))
            default: return .unknown(code)
            }
        case .character(let value):
            switch value {
            case 3: return .ctrlC
            case 8, 127: return .backspace  // ^H and DEL: what terminals send for Backspace
            case 9: return .tab
            case 10, 13: return .enter
            case 27: return .escape
            case 0..<32: return .unknown(Int32(value))
            default:
                guard let scalar = Unicode.Scalar(value) else { return .unknown(Int32(bitPattern: value)) }
                return .char(Character(scalar))
            }
        }
    }

    /// A short human name for help text and logs: "space", "enter", "F1", "↑", "q".
    public var name: String {
        switch self {
        case .char(" "): return "space"
        case .char(let c): return String(c)
        case .enter: return "enter"
        case .tab: return "tab"
        case .backTab: return "shift-tab"
        case .backspace: return "backspace"
        case .delete: return "delete"
        case .escape: return "esc"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .home: return "home"
        case .end: return "end"
        case .pageUp: return "page-up"
        case .pageDown: return "page-down"
        case .f(let n): return "F\(n)"
        case .resize: return "resize"
        case .ctrlC: return "ctrl-c"
        case .unknown(let code): return "key \(code)"
        case .mouse: return "mouse"
        }
    }
}
