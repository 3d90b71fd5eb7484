import Glibc

/// The width of the terminal a line-oriented command writes to (its progress lines must not
/// wrap: `\r` and cursor-up redraws go back one screen line, not one written line).
public enum ConsoleWidth {
    /// Columns of the terminal on `descriptor` (standard error by default), nil when it is not
    /// a terminal or does not say.
    public static func columns(of descriptor: Int32 = STDERR_FILENO) -> Int? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}
