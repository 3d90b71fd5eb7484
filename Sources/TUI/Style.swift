/// A colour named by what it means, not by what it looks like. `Terminal` maps each role to an
/// ncurses colour pair (or, under `NO_COLOR`, to bold/reverse only), so widgets never pick
/// colours themselves.
///
/// A small value (one byte) so a `Cell` stays cheap to copy and compare.
public struct ColorRole: Hashable, Sendable, CustomStringConvertible {
    /// Dense index 0..<`ColorRole.count`, stable: `Terminal` uses `index + 1` as the pair number.
    public let index: UInt8

    private init(index: UInt8) { self.index = index }

    /// Default foreground: ordinary text.
    public static let normal = ColorRole(index: 0)
    /// Secondary text: hints, units, inactive things.
    public static let dim = ColorRole(index: 1)
    /// Panel and dialog titles.
    public static let title = ColorRole(index: 2)
    /// Field names in forms and key–value lists.
    public static let label = ColorRole(index: 3)
    /// Healthy state (running, saved).
    public static let ok = ColorRole(index: 4)
    /// Needs attention (paused, slow).
    public static let warn = ColorRole(index: 5)
    /// Something went wrong (diverged, invalid value).
    public static let error = ColorRole(index: 6)
    /// Focus and emphasis (focused panel border, keys in the help bar).
    public static let accent = ColorRole(index: 7)
    /// The selected row of a list or form.
    public static let selected = ColorRole(index: 8)
    /// Chart axes and tick labels.
    public static let axis = ColorRole(index: 9)

    /// Number of `series` roles; indices wrap around.
    public static let seriesCount = 8   // a race's runs each keep one (at most 8)
    /// Number of `heat` levels, 0 = coolest.
    public static let heatLevels = 5
    /// Total number of distinct roles.
    public static let count = 10 + seriesCount + heatLevels

    /// The colour of data series `n` in a chart (wraps modulo `seriesCount`).
    public static func series(_ n: Int) -> ColorRole {
        let wrapped = ((n % seriesCount) + seriesCount) % seriesCount
        return ColorRole(index: UInt8(10 + wrapped))
    }

    /// Intensity level `n` of a heat map, 0 = lowest (clamped to 0..<`heatLevels`).
    public static func heat(_ n: Int) -> ColorRole {
        ColorRole(index: UInt8(10 + seriesCount + min(max(n, 0), heatLevels - 1)))
    }

    /// Every role, in index order (for building colour tables).
    public static var all: [ColorRole] { (0..<count).map { ColorRole(index: UInt8($0)) } }

    /// The series number if this is a `series` role.
    public var seriesNumber: Int? {
        let i = Int(index) - 10
        return (0..<ColorRole.seriesCount).contains(i) ? i : nil
    }

    /// The heat level if this is a `heat` role.
    public var heatLevel: Int? {
        let i = Int(index) - 10 - ColorRole.seriesCount
        return (0..<ColorRole.heatLevels).contains(i) ? i : nil
    }

    public var description: String {
        if let s = seriesNumber { return "series(\(s))" }
        if let h = heatLevel { return "heat(\(h))" }
        let names = ["normal", "dim", "title", "label", "ok", "warn", "error", "accent", "selected", "axis"]
        return names[Int(index)]
    }
}

/// How a cell is drawn: a colour role plus the two attributes that survive `NO_COLOR`.
public struct Style: Hashable, Sendable {
    public var role: ColorRole
    public var bold: Bool
    public var reverse: Bool

    public init(_ role: ColorRole = .normal, bold: Bool = false, reverse: Bool = false) {
        self.role = role
        self.bold = bold
        self.reverse = reverse
    }

    public static let normal = Style()

    /// The same style with bold set.
    public var bolded: Style { var s = self; s.bold = true; return s }
    /// The same style with reverse video set.
    public var reversed: Style { var s = self; s.reverse = true; return s }
}

/// Which characters widgets may use. `.unicode` draws box lines, braille and block elements;
/// `.ascii` keeps to 7-bit characters for terminals or locales without UTF-8.
public enum GlyphSet: Sendable, Equatable {
    case unicode
    case ascii
}
