// The only file in SphereLab that talks to ncurses. Everything else draws into a CellGrid.
import CNcurses
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why the terminal could not be taken over.
public struct TerminalError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Whether ncurses currently owns the screen. Process-wide because the signal handlers and the
/// exit hook must see it; atomic so that a handler running on any thread reads it safely and
/// so that exactly one party (stop, exit hook or handler) performs the restore.
private let screenActive = Atomic<Bool>(false)
/// Set once the signal handlers and exit hook are installed (they stay for the process).
private let handlersInstalled = Atomic<Bool>(false)
/// When true, SIGINT/SIGTERM/SIGHUP are recorded in `pendingStopSignal` for the UI loop to
/// handle (quit dialog, emergency autosave) instead of restoring the screen and exiting.
private let interceptsStopSignals = Atomic<Bool>(false)
/// The last stop signal recorded, 0 for none (an atomic store: async-signal-safe).
private let pendingStopSignal = Atomic<Int32>(0)

/// Whether mouse reporting is switched on, so every way out switches it off again.
private let mouseActive = Atomic<Bool>(false)
/// xterm private modes: 1000 button presses, 1002 drags with a button held, 1006 SGR encoding
/// (coordinates beyond 223 columns, releases that say which button). Sent directly rather than
/// through ncurses' mousemask, which under tmux falls back to the X10 encoding.
private let mouseOn = "\u{1B}[?1000h\u{1B}[?1002h\u{1B}[?1006h"
private let mouseOff = "\u{1B}[?1006l\u{1B}[?1002l\u{1B}[?1000l"

/// Writes bytes straight to the terminal (write(2) is async-signal-safe, so handlers may call it).
private func writeRaw(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

/// Gives the terminal back to the shell if ncurses still holds it. Called from `stop()`, the
/// exit hook and signal handlers. endwin() is not async-signal-safe, but on a fatal signal the
/// alternative is leaving the user's terminal in raw mode with no cursor, which is worse.
private func restoreScreen() {
    if mouseActive.exchange(false, ordering: .acquiringAndReleasing) { writeRaw(mouseOff) }
    if screenActive.exchange(false, ordering: .acquiringAndReleasing) {
        curs_set(1)
        endwin()
    }
}

/// The terminal in full-screen mode: start it, read keys, draw cell grids, stop it.
///
/// Not `Sendable`: it belongs to the thread that runs the UI loop (the main thread). The
/// terminal is restored by `stop()`, at process exit, on SIGINT/SIGTERM/SIGHUP (then the process exits
/// with 128 + signal number, unless `interceptsStopSignals` hands them to the UI loop) and on crash signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT —
/// then the signal goes on to the action that was in place before: the default one, which
/// dumps core, or the Swift runtime's backtracer, which then prints onto a usable terminal).
public final class Terminal {
    /// True when both stdin and stdout are terminals, i.e. a full-screen UI can run.
    public static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    /// True when the `NO_COLOR` environment variable is set to a non-empty value (no-color.org).
    public static var noColorRequested: Bool {
        guard let value = getenv("NO_COLOR") else { return false }
        return value.pointee != 0
    }

    /// Whether colours are in use (false under `NO_COLOR` or on a terminal without colours).
    public private(set) var usesColor = false
    /// `.unicode` when the locale's character set is UTF-8, else `.ascii`. Known after `start()`.
    public private(set) var preferredGlyphs: GlyphSet = .unicode
    public private(set) var isStarted = false

    private var screen: OpaquePointer?
    /// ncurses attributes and colour pair per `ColorRole.index`.
    private var roleAttributes: [(attributes: attr_t, pair: Int16)] = []
    /// The last frame drawn, to send only changed cells; nil forces a full redraw.
    private var previous: CellGrid?
    /// Reused buffer for one run of equally styled cells.
    private var wideRun: [wchar_t] = []
    /// Splits mouse reports out of the key stream.
    private var decoder = InputDecoder()
    /// Keys decoded but not yet returned (a broken sequence gives several at once).
    private var queued: [Key] = []

    public init() {}

    deinit { stop() }

    /// Switches to full-screen mode: locale from the environment, no echo, keys unbuffered with
    /// function keys decoded, hidden cursor, colours (unless `NO_COLOR`).
    public func start() throws(TerminalError) {
        guard !isStarted else { return }
        guard Terminal.isInteractive else {
            throw TerminalError(description: "stdin and stdout must both be a terminal for the full-screen UI; "
                + "run in a terminal, or use the headless `train` command")
        }
        setlocale(LC_ALL, "")
        preferredGlyphs = GlyphSet.forLocale
        installHandlersOnce()
        if screen == nil {
            // newterm rather than initscr: initscr exits the process on failure, newterm returns nil.
            guard let created = newterm(nil, spherelab_stdout(), spherelab_stdin()) else {
                let term = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
                throw TerminalError(description: "ncurses cannot drive this terminal (TERM=\(term)); "
                    + "set TERM to a known type such as xterm-256color")
            }
            screen = created
        }
        screenActive.store(true, ordering: .releasing)
        cbreak()
        noecho()
        nonl()
        _ = spherelab_keypad(true)
        curs_set(0)
        set_escdelay(25)  // Esc alone should not feel laggy; escape sequences arrive faster.
        spherelab_timeout(50)
        setUpColors()
        previous = nil
        isStarted = true
    }

    /// Whether SIGINT, SIGTERM and SIGHUP are handed to the UI loop (`takeStopSignal`) rather
    /// than restoring the screen and exiting at once. The loop must then poll every frame.
    public static var interceptsStopSignals: Bool {
        get { TUI.interceptsStopSignals.load(ordering: .relaxed) }
        set { TUI.interceptsStopSignals.store(newValue, ordering: .relaxed) }
    }

    /// The stop signal received since the last call (SIGINT for Ctrl-C), if any.
    public static func takeStopSignal() -> Int32? {
        let s = pendingStopSignal.exchange(0, ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Leaves full-screen mode and shows the cursor again. Safe to call more than once.
    public func stop() {
        guard isStarted else { return }
        isStarted = false
        restoreScreen()
    }

    /// The screen size in cells (0 × 0 before `start()`).
    public var size: (width: Int, height: Int) {
        guard isStarted else { return (0, 0) }
        return (Int(spherelab_cols()), Int(spherelab_lines()))
    }

    /// Waits up to `timeoutMilliseconds` for a key (0: just poll; negative: wait forever).
    /// Returns nil when none arrived. After `.resize` the next `draw` repaints everything.
    /// Mouse reports arrive as `.mouse` keys.
    public func readKey(timeoutMilliseconds: Int32) -> Key? {
        guard isStarted else { return nil }
        var wait = timeoutMilliseconds
        while queued.isEmpty {
            spherelab_timeout(wait)
            var value: wint_t = 0
            let status = spherelab_get_wch(&value)
            if status == spherelab_key_code_yes() {
                queued += decoder.feed(.keyCode(Int32(bitPattern: UInt32(value))))
            } else if status == OK {
                queued += decoder.feed(.character(UInt32(value)))
            } else if decoder.isPending {
                queued += decoder.flush()  // a lone Esc: nothing followed it
            } else {
                return nil
            }
            // The rest of a sequence is already in ncurses' buffer: read it without waiting long.
            if decoder.isPending { wait = 30 }
        }
        let key = queued.removeFirst()
        if key == .resize { previous = nil }
        return key
    }

    /// Switches terminal mouse reporting on or off. Off again on `stop()` and on every exit
    /// path. Terminals without mouse support ignore the request; keys keep working either way.
    public func setMouseReporting(_ enabled: Bool) {
        guard isStarted else { return }
        _ = spherelab_refresh()
        fflush(nil)
        if enabled {
            if !mouseActive.exchange(true, ordering: .acquiringAndReleasing) { writeRaw(mouseOn) }
        } else if mouseActive.exchange(false, ordering: .acquiringAndReleasing) {
            writeRaw(mouseOff)
        }
    }

    /// Copies `grid` to the screen: cells that differ from the previous frame (all of them after
    /// a resize or on the first frame), grouped in runs of one style, then one refresh.
    /// Parts of the grid beyond the screen are ignored.
    public func draw(_ grid: CellGrid) {
        guard isStarted else { return }
        let (screenWidth, screenHeight) = size
        let last = previous.flatMap { $0.width == grid.width && $0.height == grid.height ? $0 : nil }
        if last == nil { _ = spherelab_erase() }
        let width = min(screenWidth, grid.width), height = min(screenHeight, grid.height)
        grid.cells.withUnsafeBufferPointer { cells in
            for y in 0..<max(0, height) {
                let row = y * grid.width
                var x = 0
                while x < width {
                    if let last, last.cells[row + x] == cells[row + x] { x += 1; continue }
                    let style = cells[row + x].style
                    let start = x
                    wideRun.removeAll(keepingCapacity: true)
                    while x < width, cells[row + x].style == style,
                          last.map({ $0.cells[row + x] != cells[row + x] }) ?? true {
                        for scalar in cells[row + x].character.unicodeScalars { wideRun.append(wchar_t(scalar.value)) }
                        x += 1
                    }
                    apply(style)
                    // Writing the bottom-right cell reports ERR (the cursor cannot move on) but draws.
                    _ = spherelab_put_wide(Int32(y), Int32(start), wideRun, Int32(wideRun.count))
                }
            }
        }
        _ = spherelab_refresh()
        previous = grid
    }

    /// Forgets the previous frame so the next `draw` repaints the whole screen (e.g. after
    /// another program wrote to the terminal).
    public func invalidate() {
        previous = nil
        _ = spherelab_clearok(true)
    }

    private func apply(_ style: Style) {
        let index = Int(style.role.index)
        let base = roleAttributes.indices.contains(index)
            ? roleAttributes[index] : (attributes: spherelab_attr_normal(), pair: Int16(0))
        var attributes = base.attributes
        if style.bold { attributes |= spherelab_attr_bold() }
        if style.reverse { attributes |= spherelab_attr_reverse() }
        _ = spherelab_set_attributes(attributes, base.pair)
    }

    /// One colour pair per role (pair number = role index + 1), or bold/reverse only when
    /// colours are off.
    private func setUpColors() {
        let bold = spherelab_attr_bold(), reverse = spherelab_attr_reverse(), dim = spherelab_attr_dim()
        let none = spherelab_attr_normal()
        usesColor = !Terminal.noColorRequested && has_colors()
        guard usesColor else {
            roleAttributes = ColorRole.all.map { role in
                switch role {
                case .title, .warn, .error, .accent: return (bold, 0)
                case .selected: return (reverse, 0)
                default: return (none, 0)
                }
            }
            return
        }
        start_color()
        use_default_colors()  // -1 below: the terminal's own foreground/background
        let many = spherelab_colors() >= 256
        let grey: Int16 = spherelab_colors() >= 16 ? 8 : -1
        // Eight series (a race has up to 8 runs): the last two are orange and violet on
        // 256-colour terminals; on 8 colours, white and bold cyan.
        let series: [Int16] = [Int16(COLOR_CYAN), Int16(COLOR_YELLOW), Int16(COLOR_MAGENTA), Int16(COLOR_GREEN),
                               Int16(COLOR_RED), Int16(COLOR_BLUE), many ? 208 : Int16(COLOR_WHITE), many ? 141 : Int16(COLOR_CYAN)]
        // A blue → teal → green → gold ramp on 256-colour terminals, the nearest 8 colours otherwise.
        let heat: [Int16] = many ? [25, 31, 36, 106, 220]
            : [Int16(COLOR_BLUE), Int16(COLOR_BLUE), Int16(COLOR_CYAN), Int16(COLOR_GREEN), Int16(COLOR_YELLOW)]
        roleAttributes = ColorRole.all.map { role in
            let pair = Int16(role.index) + 1
            let (foreground, background, attributes): (Int16, Int16, attr_t)
            if let n = role.seriesNumber {
                (foreground, background, attributes) = (series[n], -1, n == 7 && !many ? bold : none)
            } else if let level = role.heatLevel {
                (foreground, background, attributes) = (heat[level], -1, none)
            } else {
                switch role {
                case .dim: (foreground, background, attributes) = (-1, -1, dim)
                case .title: (foreground, background, attributes) = (-1, -1, bold)
                case .ok: (foreground, background, attributes) = (Int16(COLOR_GREEN), -1, none)
                case .warn: (foreground, background, attributes) = (Int16(COLOR_YELLOW), -1, none)
                case .error: (foreground, background, attributes) = (Int16(COLOR_RED), -1, bold)
                case .accent: (foreground, background, attributes) = (Int16(COLOR_CYAN), -1, none)
                case .selected: (foreground, background, attributes) = (Int16(COLOR_BLACK), Int16(COLOR_CYAN), none)
                case .axis: (foreground, background, attributes) = (grey, -1, none)
                default: (foreground, background, attributes) = (-1, -1, none)
                }
            }
            init_pair(pair, foreground, background)
            return (attributes, pair)
        }
    }

    /// The ncurses header's key codes, so a test can hold `Key.Code` to them.
    static func headerKeyCodes() -> [String: Int32] {
        [
            "down": spherelab_key_down(), "up": spherelab_key_up(), "left": spherelab_key_left(),
            "right": spherelab_key_right(), "home": spherelab_key_home(), "end": spherelab_key_end(),
            "backspace": spherelab_key_backspace(), "f0": spherelab_key_f0(), "delete": spherelab_key_dc(),
            "pageDown": spherelab_key_npage(), "pageUp": spherelab_key_ppage(), "enter": spherelab_key_enter(),
            "backTab": spherelab_key_btab(), "resize": spherelab_key_resize(),
        ]
    }
}

/// Signals that mean the process is crashing.
private let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT]

/// The actions that were in place for `crashSignals` before ours (SIG_DFL, or the Swift
/// runtime's backtracer), in the same order. The handler needs them and a C signal handler
/// cannot capture context, so this must be a global. nonisolated(unsafe) is sound here: it is
/// written once in `installHandlersOnce`, before any handler that reads it is installed, and
/// only read afterwards.
nonisolated(unsafe) private var previousCrashActions: [sigaction] = []

/// Installs, once per process, the exit hook and the signal handlers that restore the screen.
private func installHandlersOnce() {
    guard !handlersInstalled.exchange(true, ordering: .acquiringAndReleasing) else { return }
    atexit { restoreScreen() }
    // A parent may have started us with these blocked (the mask is inherited): unblock them,
    // or Ctrl-C, SIGTERM and SIGHUP would never arrive.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblock, signal) }
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        action.__sigaction_handler.sa_handler = { signal in
            if interceptsStopSignals.load(ordering: .relaxed) {
                pendingStopSignal.store(signal, ordering: .relaxed)
                return
            }
            restoreScreen()
            _exit(128 + signal)
        }
        sigaction(signal, &action, nil)
    }
    previousCrashActions = crashSignals.map { signal in
        var previous = sigaction()
        sigaction(signal, nil, &previous)
        return previous
    }
    for signal in crashSignals {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_SIGINFO
        action.__sigaction_handler.sa_sigaction = { signal, info, _ in
            restoreScreen()
            // Hand the signal on to whoever had it before (the default action, which dumps
            // core, or the Swift runtime's backtracer, which now prints onto a sane terminal).
            if let index = crashSignals.firstIndex(of: signal) {
                var previous = previousCrashActions[index]
                sigaction(signal, &previous, nil)
            } else {
                Glibc.signal(signal, SIG_DFL)
            }
            // A fault raised by the CPU (si_code > 0) happens again when the handler returns;
            // one sent by raise/abort/kill has to be sent again.
            if (info?.pointee.si_code ?? 0) <= 0 { raise(signal) }
        }
        sigaction(signal, &action, nil)
    }
}
