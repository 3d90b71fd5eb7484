/// A mouse report from the terminal (xterm SGR 1006 encoding), in 0-based cell coordinates.
public struct MouseEvent: Hashable, Sendable {
    public enum Button: Hashable, Sendable { case left, middle, right, other(Int) }
    public enum Action: Hashable, Sendable {
        case press(Button)
        case release(Button)
        /// Moved with a button held (reported with button-event tracking, mode 1002).
        case drag(Button)
        case wheelUp, wheelDown, wheelLeft, wheelRight
    }

    public var action: Action
    public var x: Int
    public var y: Int
    public var shift: Bool
    public var alt: Bool
    public var control: Bool

    public init(action: Action, x: Int, y: Int, shift: Bool = false, alt: Bool = false, control: Bool = false) {
        self.action = action
        self.x = x
        self.y = y
        self.shift = shift
        self.alt = alt
        self.control = control
    }

    /// Decodes the parameters of `ESC [ < code ; x ; y (M|m)`: `code` carries the button in its
    /// low bits plus 4 shift, 8 alt, 16 control, 32 motion, 64 wheel, 128 extra buttons;
    /// `M` is a press (or motion), `m` a release; x and y count from 1. Nil if malformed.
    public static func sgr(code: Int, x: Int, y: Int, final: Character) -> MouseEvent? {
        guard code >= 0, x >= 1, y >= 1, final == "M" || final == "m" else { return nil }
        let low = code & 3
        let button: Button
        if code & 128 != 0 { button = .other(8 + low) }
        else if code & 64 != 0 { button = .other(4 + low) }
        else { button = [.left, .middle, .right, .other(0)][low] }
        let action: Action
        if code & 64 != 0 && code & 128 == 0 {
            guard final == "M" else { return nil }
            action = [.wheelUp, .wheelDown, .wheelLeft, .wheelRight][low]
        } else if final == "m" {
            action = .release(button)
        } else if code & 32 != 0 {
            guard low != 3 else { return nil }  // motion with no button: not requested (mode 1003)
            action = .drag(button)
        } else {
            action = .press(button)
        }
        return MouseEvent(action: action, x: x - 1, y: y - 1, shift: code & 4 != 0, alt: code & 8 != 0,
                          control: code & 16 != 0)
    }
}

/// Turns the stream of `get_wch` results into keys, recognising mouse reports on the way.
///
/// ncurses passes an SGR report either as plain characters (`ESC [ < 0 ; 10 ; 5 M`, when the
/// terminal description has no SGR mouse key, e.g. inside tmux) or as `KEY_MOUSE` followed by
/// the parameters (when `kmous` is `ESC [ <`, as for xterm-256color). Both are decoded here; an
/// interrupted sequence comes back as the keys it was made of, so nothing typed is lost.
public struct InputDecoder: Sendable {
    private var pending: [Key.Input] = []

    public init() {}

    /// True while a sequence is half read: the caller should read on without waiting, and call
    /// `flush()` if nothing follows (a lone Esc).
    public var isPending: Bool { !pending.isEmpty }

    static let keyMouse: Int32 = 0o631

    /// Feeds one input; returns the keys that are complete (usually zero or one).
    public mutating func feed(_ input: Key.Input) -> [Key] {
        if pending.isEmpty {
            switch input {
            case .character(27), .keyCode(InputDecoder.keyMouse):
                pending = [input]
                return []
            default:
                return [Key.decode(input)]
            }
        }
        pending.append(input)
        switch state() {
        case .incomplete: return []
        case .complete(let event): pending = []; return [.mouse(event)]
        case .invalid:
            let inputs = pending
            pending = []
            // Replay: the first input as itself, the rest through the decoder (one may start anew).
            var keys = [Key.decode(inputs[0])]
            for rest in inputs.dropFirst() { keys += feed(rest) }
            return keys
        }
    }

    /// Gives up on a half-read sequence: its inputs come back as keys (ESC alone → `.escape`).
    public mutating func flush() -> [Key] {
        let inputs = pending
        pending = []
        guard let first = inputs.first else { return [] }
        var keys = [Key.decode(first)]
        for rest in inputs.dropFirst() { keys += feed(rest) }
        return keys + flush()
    }

    private enum State { case incomplete, complete(MouseEvent), invalid }

    private func state() -> State {
        var characters: [Character] = []
        var index = 0
        if pending[0] == .keyCode(InputDecoder.keyMouse) {
            index = 1
        } else {
            // ESC [ <
            let prefix: [UInt32] = [27, 91, 60]
            for (i, expected) in prefix.enumerated() {
                guard i < pending.count else { return .incomplete }
                guard pending[i] == .character(expected) else { return .invalid }
            }
            index = 3
        }
        for input in pending[index...] {
            guard case .character(let v) = input, let scalar = Unicode.Scalar(v) else { return .invalid }
            characters.append(Character(scalar))
        }
        guard let last = characters.last else { return .incomplete }
        if last == "M" || last == "m" {
            let fields = characters.dropLast().split(separator: ";", omittingEmptySubsequences: false)
            guard fields.count == 3 else { return .invalid }
            let numbers = fields.map { Int(String($0)) }
            guard let code = numbers[0], let x = numbers[1], let y = numbers[2],
                  let event = MouseEvent.sgr(code: code, x: x, y: y, final: last) else { return .invalid }
            return .complete(event)
        }
        guard last.isASCII, last.isNumber || last == ";", characters.count < 24 else { return .invalid }
        return .incomplete
    }
}
