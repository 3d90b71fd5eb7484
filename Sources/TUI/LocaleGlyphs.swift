import Glibc

extension GlyphSet {
    /// What the environment's locale can show: `.unicode` when its character set (LC_ALL,
    /// LC_CTYPE or LANG) is UTF-8, else `.ascii`. The workbench's screen and the headless
    /// commands' text (progress bars, tables) decide the same way. Reads the locale without
    /// installing it, so number formatting elsewhere stays untouched.
    public static var forLocale: GlyphSet {
        guard let locale = newlocale(LC_CTYPE_MASK, "", nil) else { return .ascii }
        defer { freelocale(locale) }
        guard let codeset = nl_langinfo_l(nl_item(CODESET), locale) else { return .ascii }
        return String(cString: codeset).uppercased().filter { $0 != "-" } == "UTF8" ? .unicode : .ascii
    }

    /// `--ascii` given, or a locale that cannot show more: ASCII; otherwise Unicode.
    public static func chosen(asciiRequested: Bool) -> GlyphSet {
        asciiRequested ? .ascii : forLocale
    }
}
