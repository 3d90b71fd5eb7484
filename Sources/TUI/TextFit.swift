/// Fitting text into a number of cells (one cell per `Character`).
public enum TextFit {
    /// The ellipsis that marks cut text: `…`, or `..` in ASCII (`~` there means "smoothed").
    public static func ellipsis(_ glyphs: GlyphSet) -> String { glyphs == .unicode ? "…" : ".." }

    /// `text` unchanged if it fits in `width` cells; otherwise its first characters and an
    /// ellipsis, `width` cells in all (in ASCII a single cell left gets `.`). Width 0 gives "".
    /// In ASCII the text is spelled in 7-bit characters first (`AsciiText`), then measured.
    public static func truncate(_ text: String, to width: Int, glyphs: GlyphSet = .unicode) -> String {
        guard width > 0 else { return "" }
        let text = glyphs.text(text)
        guard text.count > width else { return text }
        let mark = ellipsis(glyphs)
        guard width > mark.count else { return String(mark.prefix(width)) }
        return String(text.prefix(width - mark.count)) + mark
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
