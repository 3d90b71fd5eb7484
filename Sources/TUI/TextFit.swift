/// Fitting text into a number of cells (one cell per `Character`).
public enum TextFit {
    /// The ellipsis that marks cut text.
    public static func ellipsis(_ glyphs: GlyphSet) -> Character { glyphs == .unicode ? "…" : "~" }

    /// `text` unchanged if it fits in `width` cells; otherwise its first `width - 1` characters
    /// and an ellipsis. Width 0 gives "".
    public static func truncate(_ text: String, to width: Int, glyphs: GlyphSet = .unicode) -> String {
        guard width > 0 else { return "" }
        guard text.count > width else { return text }
        return String(text.prefix(width - 1)) + String(ellipsis(glyphs))
    }

    /// Breaks `text` into lines of at most `width` cells at spaces; a word longer than a line
    /// is cut hard. Existing newlines start new lines.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                var word = Substring(word)
                while word.count > width {
                    if !line.isEmpty { lines.append(line); line = "" }
                    lines.append(String(word.prefix(width)))
                    word = word.dropFirst(width)
                }
                if word.isEmpty { continue }
                if line.isEmpty {
                    line = String(word)
                } else if line.count + 1 + word.count <= width {
                    line += " " + word
                } else {
                    lines.append(line)
                    line = String(word)
                }
            }
            lines.append(line)
        }
        return lines
    }
}
