import Foundation

/// Text spelled in 7-bit ASCII for `GlyphSet.ascii` (`--ascii`, or a locale without UTF-8):
/// every non-ASCII character the screens use gets a readable spelling — `θ` theta, `×` x,
/// `·` `.`, `↔` `<->`, `→` `->`, `β` beta, `≈` `~` (the smoothed value), `…` `..` (cut text) —
/// accented letters lose their accents, and anything else becomes `?`. Widgets spell their
/// texts before measuring them, so a longer spelling never breaks a layout.
public enum AsciiText {
    /// Spellings of the characters the workbench, the race and their widgets draw.
    static let spellings: [Character: String] = [
        "θ": "theta", "π": "pi", "β": "beta", "α": "alpha", "γ": "gamma", "λ": "lambda", "μ": "mu",
        "σ": "sigma", "Δ": "delta",
        "×": "x", "÷": "/", "·": ".", "•": "*", "…": "..", "≈": "~", "≤": "<=", "≥": ">=", "≠": "!=",
        "±": "+/-", "−": "-", "–": "-", "—": "--", "°": "d",
        "↔": "<->", "→": "->", "←": "<-", "↑": "^", "↓": "v", "⇒": "=>",
        "»": ">>", "«": "<<", "▸": ">", "▶": ">", "◂": "<", "⚠": "!", "✓": "ok", "✗": "x",
        "⑂": "fork ", "▏": "_", "│": "|", "─": "-", "●": "O", "▲": "^", "▼": "v",
        "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
        "\u{00A0}": " ", "‘": "'", "’": "'", "“": "\"", "”": "\"",
    ]

    /// `text` with every character outside 7-bit ASCII spelled in ASCII (unchanged when it has none).
    public static func fold(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            if c.isASCII { out.append(c); continue }
            if let s = spellings[c] { out += s; continue }
            // An accented letter: its base letter (é → e); anything else is unknown.
            let base = String(c).decomposedStringWithCanonicalMapping.unicodeScalars.first
            if let base, base.isASCII, base.properties.isAlphabetic { out.unicodeScalars.append(base) } else { out += "?" }
        }
        return out
    }
}

extension GlyphSet {
    /// `text` as this glyph set draws it: unchanged in Unicode, spelled in ASCII (`AsciiText`).
    public func text(_ text: String) -> String { self == .ascii ? AsciiText.fold(text) : text }
}
